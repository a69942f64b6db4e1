/**
 * Noise schedules. For the v objective, k-diffusion's `get_sigmas_*` (crowsonkb/k-diffusion, k_diffusion/sampling.py):
 * n noise levels from sigmaMax down to sigmaMin, then a final 0. For rectified flow, stable-audio-tools'
 * (inference/sampling.py): n + 1 times t from sigmaMax (at most 1) down to 0.
 */

export type ScheduleName = 'polyexponential' | 'karras' | 'rf_logsnr' | 'rf_linear';

/** The schedules of each kind of objective: k-diffusion sigmas for `v`, flow times for rectified flow. */
export const V_SCHEDULES = ['polyexponential', 'karras'] as const;
export const RF_SCHEDULES = ['rf_logsnr', 'rf_linear'] as const;

/**
 * stable-audio-tools' `DistributionShift` (a model config's `distribution_shift_options`): shifts flow times toward
 * noise, more for longer latents. Fields as upstream names them, with upstream's defaults.
 */
export interface DistShift {
  base_shift: number;
  max_shift: number;
  min_length: number;
  max_length: number;
  use_sine: boolean;
}

export interface ScheduleParams {
  schedule: ScheduleName;
  steps: number;
  /** polyexponential and karras only. */
  sigmaMin?: number;
  sigmaMax: number;
  /** polyexponential and karras only. */
  rho?: number;
  /** rf_linear only: shift the times as upstream's `dist_shift.time_shift(t, latentLength)`. */
  distShift?: DistShift;
  /** Latent frames, for the distribution shift. */
  latentLength?: number;
}

/** `linspace(start, end, n)` as torch computes it for n = 1: just `start`. */
function linspace(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = n === 1 ? start : start + ((end - start) * i) / (n - 1);
  return out;
}

/** A polynomial in log sigma (Stable Audio's schedule, rho = 1 is log-linear). */
export function polyexponentialSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 1): Float64Array {
  checkRange(n, sigmaMin, sigmaMax);
  const ramp = linspace(1, 0, n);
  const logMin = Math.log(sigmaMin);
  const logMax = Math.log(sigmaMax);
  const sigmas = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) sigmas[i] = Math.exp(ramp[i] ** rho * (logMax - logMin) + logMin);
  return sigmas;
}

/** Karras et al. (2022), eq. 5: linear in sigma^(1/rho). */
export function karrasSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 7): Float64Array {
  checkRange(n, sigmaMin, sigmaMax);
  const ramp = linspace(0, 1, n);
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  const sigmas = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) sigmas[i] = (maxInvRho + ramp[i] * (minInvRho - maxInvRho)) ** rho;
  return sigmas;
}

/**
 * The times `sample_rf` builds (stable-audio-tools inference/sampling.py), which every rectified-flow sampler of
 * `generate_diffusion_cond` runs on, SAO Small's ping-pong included: logSNR = linspace(logsnr_max, 2, n + 1),
 * t = sigmoid(−logSNR), then t[0] = sigmaMax and t[n] = 0, where logsnr_max = log((1 − σmax)/σmax + 1e-6) below 1
 * and −6 at 1. (`sample_rf` hands these to the sampler as `sigmas`, so no distribution shift applies to them.)
 */
export function rfLogSnrTimes(n: number, sigmaMax = 1): Float64Array {
  checkSteps(n);
  if (!(sigmaMax > 0 && sigmaMax <= 1)) throw new RangeError(`rectified flow needs 0 < sigmaMax <= 1, got ${sigmaMax}`);
  const logSnrMax = sigmaMax < 1 ? Math.log((1 - sigmaMax) / sigmaMax + 1e-6) : -6;
  const logSnr = linspace(logSnrMax, 2, n + 1);
  const t = logSnr.map((l) => 1 / (1 + Math.exp(l))); // sigmoid(−l)
  t[0] = sigmaMax;
  t[n] = 0;
  return t;
}

/**
 * `linspace(sigmaMax, 0, n + 1)`, then upstream's `DistributionShift.time_shift` when the model has one: the
 * schedule `sample_flow_pingpong` and `sample_discrete_euler` build when called without sigmas.
 */
export function rfLinearTimes(n: number, sigmaMax = 1, distShift?: DistShift, latentLength = 0): Float64Array {
  checkSteps(n);
  if (!(sigmaMax > 0 && sigmaMax <= 1)) throw new RangeError(`rectified flow needs 0 < sigmaMax <= 1, got ${sigmaMax}`);
  const t = linspace(sigmaMax, 0, n + 1);
  return distShift ? t.map((ti) => timeShift(ti, latentLength, distShift)) : t;
}

/** Upstream's `DistributionShift.time_shift` (its exponent `sigma` is fixed at 1). */
export function timeShift(t: number, seqLen: number, d: DistShift): number {
  const len = Math.min(Math.max(seqLen, d.min_length), d.max_length);
  const mu = -(d.base_shift + ((d.max_shift - d.base_shift) * (len - d.min_length)) / (d.max_length - d.min_length));
  const shifted = 1 - Math.exp(mu) / (Math.exp(mu) + (1 / (1 - t) - 1));
  return d.use_sine ? Math.sin((shifted * Math.PI) / 2) : shifted;
}

export function sigmasFor(p: ScheduleParams): Float64Array {
  switch (p.schedule) {
    case 'polyexponential':
      return polyexponentialSigmas(p.steps, required(p.sigmaMin, 'sigmaMin'), p.sigmaMax, p.rho ?? 1);
    case 'karras':
      return karrasSigmas(p.steps, required(p.sigmaMin, 'sigmaMin'), p.sigmaMax, p.rho ?? 7);
    case 'rf_logsnr':
      return rfLogSnrTimes(p.steps, p.sigmaMax);
    case 'rf_linear':
      return rfLinearTimes(p.steps, p.sigmaMax, p.distShift, p.latentLength);
  }
}

function required(value: number | undefined, name: string): number {
  if (value === undefined) throw new RangeError(`${name} is required by this schedule`);
  return value;
}

function checkSteps(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`steps must be an integer >= 1, got ${n}`);
}

function checkRange(n: number, sigmaMin: number, sigmaMax: number): void {
  checkSteps(n);
  if (!(sigmaMin > 0 && sigmaMax >= sigmaMin)) throw new RangeError(`need 0 < sigmaMin <= sigmaMax, got ${sigmaMin}, ${sigmaMax}`);
}
