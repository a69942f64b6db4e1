import { describe, expect, it } from 'vitest';
import { karrasSigmas, polyexponentialSigmas, rfLinearTimes, rfLogSnrTimes, sigmasFor, timeShift } from './schedules';

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

describe('rectified-flow times (stable-audio-tools sample_rf; checked against upstream in upstream-sampler.spec.ts)', () => {
  it('rf_logsnr at 8 steps is sigmoid(−linspace(−6, 2, 9)) with its ends pinned to 1 and 0', () => {
    const t = rfLogSnrTimes(8);
    expect(t[0]).toBe(1);
    expect(t[8]).toBe(0);
    for (let i = 1; i < 8; i++) expect(t[i]).toBeCloseTo(1 / (1 + Math.exp(-6 + i)), 12);
    expect(t[6]).toBeCloseTo(0.5, 12);
  });

  it('rf_logsnr below sigma_max 1 starts at sigma_max, the logSNR ramp starting at log((1 − σ)/σ + 1e-6)', () => {
    const t = rfLogSnrTimes(4, 0.5);
    expect(t[0]).toBe(0.5);
    expect(t[1]).toBeCloseTo(1 / (1 + Math.exp(Math.log(1 + 1e-6) + (2 - Math.log(1 + 1e-6)) / 4)), 12);
  });

  it('rf_linear is linspace(sigma_max, 0, n + 1), and the distribution shift keeps its ends and pushes toward noise', () => {
    expect(Array.from(rfLinearTimes(4))).toEqual([1, 0.75, 0.5, 0.25, 0]);
    const shift = { base_shift: 0.5, max_shift: 1.15, min_length: 256, max_length: 4096, use_sine: false };
    const shifted = rfLinearTimes(4, 1, shift, 256);
    expect(shifted[0]).toBe(1);
    expect(shifted[4]).toBe(0);
    // At the minimum length μ = −0.5: t ← 1 − e^μ/(e^μ + 1/(1 − t) − 1); at t = 0.5 that is 1/(1 + e^−0.5).
    expect(shifted[2]).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 12);
    expect(timeShift(0.5, 4096, shift)).toBeCloseTo(1 / (1 + Math.exp(-1.15)), 12);
  });

  it('refuses a flow time above 1 and zero steps', () => {
    expect(() => rfLogSnrTimes(8, 1.5)).toThrow(/0 < sigmaMax <= 1/);
    expect(() => sigmasFor({ schedule: 'rf_linear', steps: 0, sigmaMax: 1 })).toThrow(/steps must be an integer >= 1/);
  });
});
