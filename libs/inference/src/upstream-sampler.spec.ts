/**
 * The samplers and schedules against stable-audio-tools itself: models/importer/make_sampler_goldens.py ran upstream
 * `sample_rf` (ping-pong and Euler on the logSNR times it builds: SAO Small's path through generate_diffusion_cond),
 * `sample_flow_pingpong` with a DistributionShift (rf_linear), and `sample_k` with dpmpp-2m (VDenoiser on
 * get_sigmas_polyexponential: SAO 1.0's path), on a toy network, with every random draw recorded. Fed the same
 * start, noise and toy network, ours must give the same x at every step.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Objective, SamplerName } from '@chorus/contracts';
import { readNpyFloat32 } from './npy';
import { objectiveFor } from './objectives';
import { SAMPLER_FUNCTIONS, type Denoiser } from './samplers';
import { sigmasFor, type DistShift, type ScheduleName } from './schedules';

const GOLDEN_DIR = path.resolve(__dirname, '../../../models/importer/golden/sampler');
const index = JSON.parse(readFileSync(path.join(GOLDEN_DIR, 'index.json'), 'utf8'));
const { C, L } = index.shape as { C: number; L: number };

interface SamplerCase {
  name: string;
  sampler: SamplerName;
  steps: number;
  sigma_min?: number;
  sigma_max: number;
  rho?: number;
  schedule: ScheduleName;
  dist_shift?: DistShift;
  latent_length?: number;
  times: number[];
  start: string;
  trajectory: string;
  noise?: string;
}

/**
 * The toy network of make_sampler_goldens.py:
 * v[b,c,l] = tanh(0.8·x[b,c,l] + 0.3·x[b,(c+1)%C,l]) + 0.5·sin(3t + 0.7c + 0.2l)·(1 − 0.5t), in float64, stored as float32.
 */
function toyV(x: Float32Array, t: number): Float32Array {
  const out = new Float32Array(x.length);
  const tt = Math.fround(t);
  for (let b = 0; b < x.length / (C * L); b++) {
    for (let c = 0; c < C; c++) {
      for (let l = 0; l < L; l++) {
        const k = (b * C + c) * L + l;
        const next = (b * C + ((c + 1) % C)) * L + l;
        out[k] = Math.tanh(0.8 * x[k] + 0.3 * x[next]) + 0.5 * Math.sin(3 * tt + 0.7 * c + 0.2 * l) * (1 - 0.5 * tt);
      }
    }
  }
  return out;
}

/** The toy network behind our objective parameterization, recording the x it is handed at every step. */
function toyDenoiser(objective: Objective, seen: Float32Array[]): Denoiser {
  const p = objectiveFor(objective);
  return async (x, sigma) => {
    seen.push(Float32Array.from(x));
    const input = p.networkInput(x, sigma, new Float32Array(x.length));
    return p.denoised(x, toyV(input, p.networkTime(sigma)), sigma);
  };
}

/** Largest |ours − upstream| relative to max(1, |upstream|): the v path starts at σ = 500. */
function maxRelDiff(ours: ArrayLike<number>, theirs: ArrayLike<number>): number {
  expect(ours.length).toBe(theirs.length);
  let m = 0;
  for (let i = 0; i < ours.length; i++) m = Math.max(m, Math.abs(ours[i] - theirs[i]) / Math.max(1, Math.abs(theirs[i])));
  return m;
}

const cases: SamplerCase[] = index.samplers;

describe('samplers against upstream stable-audio-tools and k-diffusion, step by step', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: our schedule is the one upstream built (within 1e-6)', (_, c) => {
    const ours = sigmasFor({
      schedule: c.schedule,
      steps: c.steps,
      sigmaMin: c.sigma_min,
      sigmaMax: c.sigma_max,
      rho: c.rho,
      distShift: c.dist_shift,
      latentLength: c.latent_length,
    });
    expect(maxRelDiff(ours, c.times)).toBeLessThan(1e-6);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: fed the same noise, x after every step matches upstream within 1e-5 (relative above 1)', async (_, c) => {
    const start = readNpyFloat32(path.join(GOLDEN_DIR, c.start)).data;
    const trajectory = readNpyFloat32(path.join(GOLDEN_DIR, c.trajectory));
    const size = start.length;
    const noise = c.noise ? readNpyFloat32(path.join(GOLDEN_DIR, c.noise)).data : undefined;
    const objective: Objective = c.schedule.startsWith('rf_') ? 'rf_denoiser' : 'v';
    const p = objectiveFor(objective);
    const sigmas = Float64Array.from(c.times);
    const x0 = start.map((z) => z * p.startScale(sigmas[0]));
    const seen: Float32Array[] = [];
    let noiseCalls = 0;
    const final = await SAMPLER_FUNCTIONS[c.sampler](toyDenoiser(objective, seen), x0, sigmas, {
      ...(noise && {
        noise: (i: number) => {
          noiseCalls++;
          return noise.subarray(i * size, (i + 1) * size);
        },
      }),
    });
    const ours = [...seen, final];
    expect(ours.length).toBe(c.steps + 1);
    for (let i = 0; i <= c.steps; i++) {
      expect(maxRelDiff(ours[i], trajectory.data.subarray(i * size, (i + 1) * size)), `x at step ${i}`).toBeLessThan(1e-5);
    }
    // Upstream draws on the last step too (times 0); we skip that draw, so one fewer.
    if (noise) expect(noiseCalls).toBe(c.steps - 1);
  });
});
