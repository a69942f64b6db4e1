/**
 * The GPU capacity model: arithmetic, not a measurement. Forward FLOPs of a transformer over T tokens
 * ≈ 2·P·T (every weight one multiply-add per token) + 4·layers·T²·d (attention scores and values).
 */

export interface GpuSpec {
  name: string;
  /** Dense BF16 tensor-core peak, TFLOP/s (NVIDIA datasheets, SXM parts, without sparsity). */
  peakTflops: number;
  /** Model FLOP utilisation assumed for a ~1 B-parameter DiT at a few hundred tokens. */
  utilisation: number;
}

export interface DitSpec {
  name: string;
  params: number;
  layers: number;
  width: number;
  /** Latent frames = tokens (Stable Audio Open: 64 channels, 215 frames for 47.55 s). */
  tokens: number;
  textTokens: number;
  audioSeconds: number;
  steps: number;
  /** Rows per U-Net/DiT call: 2 with classifier-free guidance. */
  cfgRows: number;
}

export const STABLE_AUDIO_OPEN_LIKE: DitSpec = {
  name: 'Stable Audio Open–sized DiT',
  params: 1.1e9,
  layers: 24,
  width: 1536,
  tokens: 215,
  textTokens: 128,
  audioSeconds: 47.55,
  steps: 100,
  cfgRows: 2,
};

export const GPUS: GpuSpec[] = [
  { name: 'A100 80GB SXM', peakTflops: 312, utilisation: 0.35 },
  { name: 'H100 SXM', peakTflops: 989, utilisation: 0.3 },
];

export interface CapacityRow {
  gpu: GpuSpec;
  secondsPerClip: number;
  clipsPerHour: number;
  realtimeFactor: number;
}

export function ditFlopsPerRow(m: DitSpec): number {
  const dense = 2 * m.params * m.tokens;
  const selfAttention = 4 * m.layers * m.tokens * m.tokens * m.width;
  const crossAttention = 4 * m.layers * m.tokens * m.textTokens * m.width;
  return dense + selfAttention + crossAttention;
}

export function flopsPerClip(m: DitSpec): number {
  return ditFlopsPerRow(m) * m.cfgRows * m.steps;
}

export function capacity(m: DitSpec, gpu: GpuSpec): CapacityRow {
  const secondsPerClip = flopsPerClip(m) / (gpu.peakTflops * 1e12 * gpu.utilisation);
  return { gpu, secondsPerClip, clipsPerHour: 3600 / secondsPerClip, realtimeFactor: m.audioSeconds / secondsPerClip };
}
