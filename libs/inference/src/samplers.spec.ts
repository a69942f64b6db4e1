import { describe, expect, it } from 'vitest';
import { SAMPLERS } from '@chorus/contracts';
import { normals } from './philox';
import { SAMPLER_FUNCTIONS, sampleDpmpp2m, sampleDpmpp3mSde, sampleEuler, type Denoiser } from './samplers';
import { polyexponentialSigmas } from './schedules';

const SIGMA_MIN = 0.03;
const SIGMA_MAX = 80;

/** Per-step noise the way the runner draws it: stream 1 + i of one generator. */
const noiseFor = (seed: number, n: number) => (step: number) => normals(seed, 1 + step, n);

/**
 * Data x0 ~ N(mu, s²) in every coordinate: the exact denoiser is the posterior mean
 * E[x0 | x] = mu + s²/(s² + σ²)·(x − mu), and the probability-flow ODE has a closed-form solution.
 */
function gaussianData(mu: number, s: number) {
  const denoiser: Denoiser = async (x, sigma) => {
    const gain = (s * s) / (s * s + sigma * sigma);
    return x.map((v) => mu + gain * (v - mu));
  };
  /** x(σmax) followed along the ODE to σmin, then denoised at σmin (the schedule's last step to 0). */
  const exactOdeResult = (xT: Float32Array) => {
    const toSigmaMin = Math.sqrt(s * s + SIGMA_MIN ** 2) / Math.sqrt(s * s + SIGMA_MAX ** 2);
    const finalDenoise = (s * s) / (s * s + SIGMA_MIN ** 2);
    return xT.map((v) => mu + (v - mu) * toSigmaMin * finalDenoise);
  };
  return { denoiser, exactOdeResult };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function startNoise(n: number, seed = 1): Float32Array {
  return normals(seed, 0, n).map((z) => z * SIGMA_MAX);
}

describe('every sampler', () => {
  it('has a function for each sampler name the farm accepts', () => {
    expect(Object.keys(SAMPLER_FUNCTIONS).sort()).toEqual([...SAMPLERS].sort());
  });

  it.each(SAMPLERS)('%s returns the clean signal when the denoiser always knows it', async (name) => {
    const clean = normals(5, 0, 512).map((z) => z * 0.7);
    const exact: Denoiser = async () => clean;
    const sigmas = polyexponentialSigmas(12, SIGMA_MIN, SIGMA_MAX);
    const out = await SAMPLER_FUNCTIONS[name](exact, startNoise(512), sigmas, { noise: noiseFor(9, 512) });
    expect(maxAbsDiff(out, clean)).toBeLessThan(1e-5);
  });

  it.each(SAMPLERS)('%s calls onStep once per step, and an error thrown there stops sampling', async (name) => {
    const { denoiser } = gaussianData(0, 1);
    const sigmas = polyexponentialSigmas(10, SIGMA_MIN, SIGMA_MAX);
    const seen: number[] = [];
    let calls = 0;
    const counting: Denoiser = (x, s) => {
      calls++;
      return denoiser(x, s);
    };
    const run = SAMPLER_FUNCTIONS[name](counting, startNoise(16), sigmas, {
      noise: noiseFor(1, 16),
      onStep: (step, steps) => {
        seen.push(step);
        expect(steps).toBe(10);
        if (step === 4) throw new Error('stop here');
      },
    });
    await expect(run).rejects.toThrow('stop here');
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(calls).toBe(4);
  });
});

describe('ODE samplers on Gaussian data (closed-form answer)', () => {
  const { denoiser, exactOdeResult } = gaussianData(0.3, 0.5);
  const xT = startNoise(256);
  const exact = exactOdeResult(xT);

  it('euler converges to the exact ODE solution at first order', async () => {
    const err50 = maxAbsDiff(await sampleEuler(denoiser, xT, polyexponentialSigmas(50, SIGMA_MIN, SIGMA_MAX)), exact);
    const err200 = maxAbsDiff(await sampleEuler(denoiser, xT, polyexponentialSigmas(200, SIGMA_MIN, SIGMA_MAX)), exact);
    expect(err200).toBeLessThan(0.02);
    expect(err50 / err200).toBeGreaterThan(3); // 4× the steps → about 4× smaller error
    expect(err50 / err200).toBeLessThan(5);
  });

  it('dpmpp-2m converges to the exact ODE solution at second order, far closer than euler', async () => {
    const err25 = maxAbsDiff(await sampleDpmpp2m(denoiser, xT, polyexponentialSigmas(25, SIGMA_MIN, SIGMA_MAX)), exact);
    const err100 = maxAbsDiff(await sampleDpmpp2m(denoiser, xT, polyexponentialSigmas(100, SIGMA_MIN, SIGMA_MAX)), exact);
    const euler100 = maxAbsDiff(await sampleEuler(denoiser, xT, polyexponentialSigmas(100, SIGMA_MIN, SIGMA_MAX)), exact);
    expect(err100).toBeLessThan(1e-3);
    expect(err25 / err100).toBeGreaterThan(10); // 4× the steps → about 16× smaller error
    expect(err100).toBeLessThan(euler100 / 10);
  });

  it('dpmpp-3m-sde with eta = 0 solves the same ODE, closer than dpmpp-2m with the same steps', async () => {
    const sigmas = polyexponentialSigmas(50, SIGMA_MIN, SIGMA_MAX);
    const out = await sampleDpmpp3mSde(denoiser, xT, sigmas, { eta: 0 });
    const twoM = await sampleDpmpp2m(denoiser, xT, sigmas);
    expect(maxAbsDiff(out, exact)).toBeLessThan(maxAbsDiff(twoM, exact));
    expect(maxAbsDiff(out, exact)).toBeLessThan(1e-3);
  });
});

describe('dpmpp-3m-sde on Gaussian data', () => {
  it('samples the data distribution N(mu, s²)', async () => {
    const mu = 0.3;
    const s = 0.5;
    const { denoiser } = gaussianData(mu, s);
    const n = 40_000;
    const out = await sampleDpmpp3mSde(denoiser, startNoise(n, 2), polyexponentialSigmas(50, SIGMA_MIN, SIGMA_MAX), {
      noise: noiseFor(2, n),
    });
    let sum = 0;
    let sumSq = 0;
    for (const v of out) {
      sum += v;
      sumSq += v * v;
    }
    const mean = sum / n;
    const std = Math.sqrt(sumSq / n - mean * mean);
    expect(Math.abs(mean - mu)).toBeLessThan(0.01);
    expect(Math.abs(std - s) / s).toBeLessThan(0.03);
  });

  it('draws noise stream 1 + i at each step i that lands on a sigma above 0', async () => {
    const { denoiser } = gaussianData(0, 1);
    const drawn: number[] = [];
    await sampleDpmpp3mSde(denoiser, startNoise(8), polyexponentialSigmas(6, SIGMA_MIN, SIGMA_MAX), {
      noise: (step) => {
        drawn.push(step);
        return normals(3, 1 + step, 8);
      },
    });
    expect(drawn).toEqual([0, 1, 2, 3, 4]);
  });

  it('gives the same output for the same noise and a different one for other noise', async () => {
    const { denoiser } = gaussianData(0, 1);
    const sigmas = polyexponentialSigmas(8, SIGMA_MIN, SIGMA_MAX);
    const a = await sampleDpmpp3mSde(denoiser, startNoise(64), sigmas, { noise: noiseFor(11, 64) });
    const b = await sampleDpmpp3mSde(denoiser, startNoise(64), sigmas, { noise: noiseFor(11, 64) });
    const c = await sampleDpmpp3mSde(denoiser, startNoise(64), sigmas, { noise: noiseFor(12, 64) });
    expect(b).toEqual(a);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(0.01);
  });
});
