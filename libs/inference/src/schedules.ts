/**
 * Sigma schedules, as k-diffusion's `get_sigmas_*` (crowsonkb/k-diffusion, k_diffusion/sampling.py).
 * Each returns n noise levels from sigmaMax down to sigmaMin, followed by a final 0.
 */

export type ScheduleName = 'polyexponential' | 'karras';

export interface ScheduleParams {
  schedule: ScheduleName;
  steps: number;
  sigmaMin: number;
  sigmaMax: number;
  rho: number;
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

export function sigmasFor(p: ScheduleParams): Float64Array {
  switch (p.schedule) {
    case 'polyexponential':
      return polyexponentialSigmas(p.steps, p.sigmaMin, p.sigmaMax, p.rho);
    case 'karras':
      return karrasSigmas(p.steps, p.sigmaMin, p.sigmaMax, p.rho);
  }
}

function checkRange(n: number, sigmaMin: number, sigmaMax: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`steps must be an integer >= 1, got ${n}`);
  if (!(sigmaMin > 0 && sigmaMax >= sigmaMin)) throw new RangeError(`need 0 < sigmaMin <= sigmaMax, got ${sigmaMin}, ${sigmaMax}`);
}
