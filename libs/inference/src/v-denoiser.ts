/**
 * k-diffusion's `VDenoiser` with sigma_data = 1: turns a v-objective network into a denoiser,
 * `denoised = c_skip·x + c_out·v(c_in·x, t)`, with network time `t = atan(σ)·2/π`.
 */

export interface VScalings {
  cSkip: number;
  cOut: number;
  cIn: number;
}

export function vScalings(sigma: number): VScalings {
  const variance = sigma * sigma + 1;
  return { cSkip: 1 / variance, cOut: -sigma / Math.sqrt(variance), cIn: 1 / Math.sqrt(variance) };
}

/** The network's time input for a noise level. */
export function sigmaToT(sigma: number): number {
  return (Math.atan(sigma) * 2) / Math.PI;
}

/** Network input `c_in·x`, written into `out`. */
export function scaleInput(x: Float32Array, sigma: number, out: Float32Array = new Float32Array(x.length)): Float32Array {
  const { cIn } = vScalings(sigma);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * cIn;
  return out;
}

/** `denoised = c_skip·x + c_out·v`. */
export function denoisedFromV(x: Float32Array, v: Float32Array, sigma: number, out: Float32Array = new Float32Array(x.length)): Float32Array {
  const { cSkip, cOut } = vScalings(sigma);
  for (let i = 0; i < x.length; i++) out[i] = cSkip * x[i] + cOut * v[i];
  return out;
}
