/**
 * Classifier-free guidance as stable-audio-tools applies it (models/dit.py, DiffusionTransformer.forward):
 * on the network's output, `out = uncond + (cond − uncond)·cfg_scale`, then CFG rescale (`scale_phi`), and only
 * where `cfg_scale != 1` and the step's noise level lies inside `cfg_interval` — elsewhere the network runs once,
 * on the conditional inputs alone.
 */

export interface GuidanceParams {
  cfgScale: number;
  /** Upstream `scale_phi`: 0 is plain guidance, 1 gives the guided output the conditional output's spread. */
  cfgRescale: number;
}

/**
 * Whether this step runs the unconditional branch at all: upstream's
 * `cfg_scale != 1.0 and cfg_interval[0] <= sigma[0] <= cfg_interval[1]`, with sigma as `guidanceSigma` gives it.
 */
export function guidanceApplies(cfgScale: number, interval: readonly [number, number], sigma: number): boolean {
  return cfgScale !== 1 && interval[0] <= sigma && sigma <= interval[1];
}

/**
 * Guided output of one item, [channels, frames] row-major, written into `out`. CFG rescale follows upstream:
 * `std(dim=1)` of [B, C, L] outputs, the unbiased standard deviation over the channel axis at each frame, and
 * `out = φ·cfg·(std(cond)/std(cfg)) + (1 − φ)·cfg`.
 */
export function guide(
  cond: Float32Array,
  uncond: Float32Array,
  channels: number,
  frames: number,
  { cfgScale, cfgRescale }: GuidanceParams,
  out: Float32Array = new Float32Array(cond.length),
): Float32Array {
  for (let j = 0; j < cond.length; j++) out[j] = uncond[j] + (cond[j] - uncond[j]) * cfgScale;
  if (cfgRescale === 0) return out;
  for (let l = 0; l < frames; l++) {
    const ratio = channelStd(cond, channels, frames, l) / channelStd(out, channels, frames, l);
    for (let c = 0; c < channels; c++) {
      const k = c * frames + l;
      out[k] = cfgRescale * (out[k] * ratio) + (1 - cfgRescale) * out[k];
    }
  }
  return out;
}

/** torch's `std` (unbiased, N − 1) over the channels of frame l. */
function channelStd(x: Float32Array, channels: number, frames: number, l: number): number {
  let mean = 0;
  for (let c = 0; c < channels; c++) mean += x[c * frames + l];
  mean /= channels;
  let sum = 0;
  for (let c = 0; c < channels; c++) sum += (x[c * frames + l] - mean) ** 2;
  return Math.sqrt(sum / (channels - 1));
}
