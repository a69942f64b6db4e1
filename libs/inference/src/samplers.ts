/**
 * Samplers in the style of k-diffusion (crowsonkb/k-diffusion, k_diffusion/sampling.py): each is one
 * function, sigmas in, latent out, and its update reads like the paper's equation. The latent is a flat
 * Float32Array (any batch layout); coefficients are computed in float64.
 */
import type { SamplerName } from '@chorus/contracts';

/** The model as the sampler sees it: noisy x at noise level sigma → estimate of the clean x. */
export type Denoiser = (x: Float32Array, sigma: number) => Promise<Float32Array>;

export interface SamplerOptions {
  /** Noise for step i, same length as x (stream 1 + i of each item's generator). Needed by SDE samplers. */
  noise?: (step: number) => Float32Array;
  /** Called after each step; throwing (e.g. an AbortError) stops sampling between two steps. */
  onStep?: (step: number, steps: number) => void;
  /** SDE noise amount: 0 makes dpmpp-3m-sde deterministic (an ODE solver). */
  eta?: number;
}

export type Sampler = (model: Denoiser, x: Float32Array, sigmas: Float64Array, opts?: SamplerOptions) => Promise<Float32Array>;

/**
 * Euler's method on the probability-flow ODE dx/dσ = (x − D(x, σ))/σ (Karras et al. 2022, Algorithm 2 with no churn).
 * With flow times as sigmas and D = x − t·v it is stable-audio-tools' `sample_discrete_euler`, x ← x + (t_next − t)·v.
 */
export async function sampleEuler(model: Denoiser, x: Float32Array, sigmas: Float64Array, opts: SamplerOptions = {}): Promise<Float32Array> {
  const steps = sigmas.length - 1;
  x = Float32Array.from(x);
  for (let i = 0; i < steps; i++) {
    const sigma = sigmas[i];
    const denoised = await model(x, sigma);
    const dt = sigmas[i + 1] - sigma;
    for (let k = 0; k < x.length; k++) x[k] = x[k] + ((x[k] - denoised[k]) / sigma) * dt;
    opts.onStep?.(i + 1, steps);
  }
  return x;
}

/** DPM-Solver++(2M) (Lu et al. 2022): second-order multistep in λ = −log σ on the data prediction. */
export async function sampleDpmpp2m(model: Denoiser, x: Float32Array, sigmas: Float64Array, opts: SamplerOptions = {}): Promise<Float32Array> {
  const steps = sigmas.length - 1;
  x = Float32Array.from(x);
  let oldDenoised: Float32Array | undefined;
  for (let i = 0; i < steps; i++) {
    const denoised = await model(x, sigmas[i]);
    const t = -Math.log(sigmas[i]);
    const tNext = -Math.log(sigmas[i + 1]);
    const h = tNext - t;
    const ratio = sigmas[i + 1] / sigmas[i]; // σ(t_next)/σ(t), 0 on the last step
    const gain = -Math.expm1(-h); // 1 − e^(−h)
    if (oldDenoised === undefined || sigmas[i + 1] === 0) {
      for (let k = 0; k < x.length; k++) x[k] = ratio * x[k] + gain * denoised[k];
    } else {
      const hLast = t + Math.log(sigmas[i - 1]);
      const r = hLast / h;
      const a = 1 + 1 / (2 * r);
      const b = 1 / (2 * r);
      for (let k = 0; k < x.length; k++) x[k] = ratio * x[k] + gain * (a * denoised[k] - b * oldDenoised[k]);
    }
    oldDenoised = denoised;
    opts.onStep?.(i + 1, steps);
  }
  return x;
}

/**
 * DPM-Solver++(3M) SDE: third-order multistep with stochastic noise (eta = 1 by default), Stable Audio's
 * default sampler. Noise comes from `opts.noise(i)` (our Philox streams), not a Brownian tree, so a seed
 * reproduces the output exactly.
 */
export async function sampleDpmpp3mSde(model: Denoiser, x: Float32Array, sigmas: Float64Array, opts: SamplerOptions = {}): Promise<Float32Array> {
  const steps = sigmas.length - 1;
  const eta = opts.eta ?? 1;
  x = Float32Array.from(x);
  let denoised1: Float32Array | undefined;
  let denoised2: Float32Array | undefined;
  let h: number | undefined;
  let h1: number | undefined;
  let h2: number | undefined;
  for (let i = 0; i < steps; i++) {
    const denoised = await model(x, sigmas[i]);
    if (sigmas[i + 1] === 0) {
      x.set(denoised);
    } else {
      const t = -Math.log(sigmas[i]);
      const s = -Math.log(sigmas[i + 1]);
      h = s - t;
      const hEta = h * (eta + 1);
      const decay = Math.exp(-hEta);
      const gain = -Math.expm1(-hEta);
      for (let k = 0; k < x.length; k++) x[k] = decay * x[k] + gain * denoised[k];

      if (h2 !== undefined && denoised1 !== undefined && denoised2 !== undefined && h1 !== undefined) {
        const r0 = h1 / h;
        const r1 = h2 / h;
        const phi2 = Math.expm1(-hEta) / hEta + 1;
        const phi3 = phi2 / hEta - 0.5;
        for (let k = 0; k < x.length; k++) {
          const d10 = (denoised[k] - denoised1[k]) / r0;
          const d11 = (denoised1[k] - denoised2[k]) / r1;
          const d1 = d10 + ((d10 - d11) * r0) / (r0 + r1);
          const d2 = (d10 - d11) / (r0 + r1);
          x[k] = x[k] + phi2 * d1 - phi3 * d2;
        }
      } else if (h1 !== undefined && denoised1 !== undefined) {
        const r = h1 / h;
        const phi2 = Math.expm1(-hEta) / hEta + 1;
        for (let k = 0; k < x.length; k++) x[k] = x[k] + phi2 * ((denoised[k] - denoised1[k]) / r);
      }

      if (eta !== 0) {
        if (!opts.noise) throw new Error('dpmpp-3m-sde needs a noise source');
        const noise = opts.noise(i);
        const scale = sigmas[i + 1] * Math.sqrt(-Math.expm1(-2 * h * eta));
        for (let k = 0; k < x.length; k++) x[k] = x[k] + noise[k] * scale;
      }
    }
    denoised2 = denoised1;
    denoised1 = denoised;
    h2 = h1;
    h1 = h;
    opts.onStep?.(i + 1, steps);
  }
  return x;
}

/**
 * Ping-pong sampling for rectified-flow models distilled to few steps (stable-audio-tools' `sample_flow_pingpong`,
 * SAO Small's sampler): denoise fully, then jump back to the next time with fresh noise,
 * `x ← (1 − t_next)·D(x, t) + t_next·ε`. Here `sigmas` are flow times t (1 … 0); noise for step i is
 * `opts.noise(i)`. The last step (t_next = 0) returns the denoised estimate and draws nothing.
 */
export async function samplePingpong(model: Denoiser, x: Float32Array, sigmas: Float64Array, opts: SamplerOptions = {}): Promise<Float32Array> {
  const steps = sigmas.length - 1;
  x = Float32Array.from(x);
  for (let i = 0; i < steps; i++) {
    const denoised = await model(x, sigmas[i]);
    const tNext = sigmas[i + 1];
    if (tNext === 0) {
      x.set(denoised);
    } else {
      if (!opts.noise) throw new Error('pingpong needs a noise source');
      const noise = opts.noise(i);
      for (let k = 0; k < x.length; k++) x[k] = (1 - tNext) * denoised[k] + tNext * noise[k];
    }
    opts.onStep?.(i + 1, steps);
  }
  return x;
}

export const SAMPLER_FUNCTIONS: Record<SamplerName, Sampler> = {
  euler: sampleEuler,
  'dpmpp-2m': sampleDpmpp2m,
  'dpmpp-3m-sde': sampleDpmpp3mSde,
  pingpong: samplePingpong,
};

/** Whether the sampler draws fresh noise during sampling (streams 1 + i). */
export function isStochastic(sampler: SamplerName): boolean {
  return sampler === 'dpmpp-3m-sde' || sampler === 'pingpong';
}
