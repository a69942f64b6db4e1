/** Limits shared by the CLI, the API and the worker. The model's window bounds seconds_total further. */
export const LIMITS = {
  promptMaxChars: 2000,
  stepsMin: 1,
  stepsMax: 500,
  cfgScaleMin: 0,
  cfgScaleMax: 25,
  seedMax: 0xffff_ffff,
  priorityMin: 1,
  priorityMax: 10,
  secondsStartMax: 512,
} as const;

export const SAMPLERS = ['euler', 'dpmpp-2m', 'dpmpp-3m-sde'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export const OUTPUT_FORMATS = ['wav', 'flac', 'mp3'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const GENERATION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type GenerationStatus = (typeof GENERATION_STATUSES)[number];

/**
 * What a `seconds_total` may be for a model, in the words the API, the worker and the CLI all use.
 * The bounds come from `secondsTotalRange` in @chorus/inference, beside the model's window.
 */
export function secondsTotalAllowed(range: { min: number; max: number }): string {
  return `a number of seconds from ${range.min} to ${range.max} (the model's window)`;
}
