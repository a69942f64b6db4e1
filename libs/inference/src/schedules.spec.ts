import { describe, expect, it } from 'vitest';
import { karrasSigmas, polyexponentialSigmas, sigmasFor } from './schedules';

describe('polyexponentialSigmas (k-diffusion get_sigmas_polyexponential)', () => {
  it('with rho = 1 is log-linear from sigma_max to sigma_min, then 0', () => {
    const s = polyexponentialSigmas(5, 0.03, 80, 1);
    expect(s.length).toBe(6);
    expect(s[0]).toBeCloseTo(80, 12);
    expect(s[4]).toBeCloseTo(0.03, 12);
    expect(s[5]).toBe(0);
    const ratios = [1, 2, 3].map((i) => Math.log(s[i] / s[i + 1]));
    for (const r of ratios) expect(r).toBeCloseTo(Math.log(80 / 0.03) / 4, 12);
  });

  it('follows exp(ramp^rho · (ln σmax − ln σmin) + ln σmin) with ramp = linspace(1, 0, n)', () => {
    const n = 7;
    const rho = 2.5;
    const s = polyexponentialSigmas(n, 0.3, 500, rho);
    for (let i = 0; i < n; i++) {
      const ramp = 1 - i / (n - 1);
      expect(s[i]).toBeCloseTo(Math.exp(ramp ** rho * (Math.log(500) - Math.log(0.3)) + Math.log(0.3)), 10);
    }
  });

  it('with one step is [sigma_max, 0]', () => {
    const s = polyexponentialSigmas(1, 0.03, 80);
    expect(s.length).toBe(2);
    expect(s[0]).toBeCloseTo(80, 10);
    expect(s[1]).toBe(0);
  });
});

describe('karrasSigmas (k-diffusion get_sigmas_karras)', () => {
  it('is linear in sigma^(1/rho) from sigma_max to sigma_min, then 0', () => {
    const n = 6;
    const rho = 7;
    const s = karrasSigmas(n, 0.03, 80, rho);
    expect(s.length).toBe(n + 1);
    expect(s[0]).toBeCloseTo(80, 10);
    expect(s[n - 1]).toBeCloseTo(0.03, 12);
    expect(s[n]).toBe(0);
    const roots = Array.from(s.subarray(0, n), (v) => v ** (1 / rho));
    const step = roots[1] - roots[0];
    for (let i = 1; i < n; i++) expect(roots[i] - roots[i - 1]).toBeCloseTo(step, 12);
  });

  it('with one step is [sigma_max, 0]', () => {
    const s = karrasSigmas(1, 0.03, 80);
    expect(s[0]).toBeCloseTo(80, 10);
    expect(s[1]).toBe(0);
  });
});

describe('sigmasFor', () => {
  it('picks the schedule named in the manifest defaults', () => {
    expect(sigmasFor({ schedule: 'karras', steps: 4, sigmaMin: 0.1, sigmaMax: 10, rho: 7 })).toEqual(karrasSigmas(4, 0.1, 10, 7));
    expect(sigmasFor({ schedule: 'polyexponential', steps: 4, sigmaMin: 0.1, sigmaMax: 10, rho: 1 })).toEqual(
      polyexponentialSigmas(4, 0.1, 10, 1),
    );
  });

  it('refuses zero steps or an inverted range', () => {
    expect(() => polyexponentialSigmas(0, 0.1, 10)).toThrow(RangeError);
    expect(() => karrasSigmas(3, 10, 0.1)).toThrow(RangeError);
  });
});
