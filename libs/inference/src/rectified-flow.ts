/**
 * Rectified flow (stable-audio-tools' `rectified_flow` and `rf_denoiser` objectives): `x_t = (1 − t)·x0 + t·ε`,
 * the network sees x_t and t itself and predicts v = ε − x0, so `denoised = x − t·v`. Flow time t plays the part
 * of sigma for the samplers.
 */

/** `denoised = x − t·v`. */
export function denoisedFromFlow(x: Float32Array, v: Float32Array, t: number, out: Float32Array = new Float32Array(x.length)): Float32Array {
  for (let i = 0; i < x.length; i++) out[i] = x[i] - t * v[i];
  return out;
}
