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

/** Every sampler the farm knows; a model accepts those of its objective (`samplersForObjective`). */
export const SAMPLERS = ['euler', 'dpmpp-2m', 'dpmpp-3m-sde', 'pingpong'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/**
 * What the diffusion network predicts (model.json `diffusion.objective`, stable-audio-tools' `diffusion_objective`):
 * `v` (k-diffusion's VDenoiser), or rectified flow, `x_t = (1 − t)·x0 + t·ε` with the network predicting `ε − x0`
 * (`rf_denoiser` is the same arithmetic, post-trained for few steps).
 */
export const OBJECTIVES = ['v', 'rectified_flow', 'rf_denoiser'] as const;
export type Objective = (typeof OBJECTIVES)[number];

/**
 * The samplers a model of this objective accepts. The v-objective ones are k-diffusion's; rectified flow takes
 * stable-audio-tools' `sample_rf` samplers we build: ping-pong (`sample_flow_pingpong`, SAO Small's) and Euler
 * (`sample_discrete_euler`, which is k-diffusion's Euler with σ = t).
 */
export function samplersForObjective(objective: Objective): readonly SamplerName[] {
  return objective === 'v' ? V_SAMPLERS : RF_SAMPLERS;
}
const V_SAMPLERS: readonly SamplerName[] = ['euler', 'dpmpp-2m', 'dpmpp-3m-sde'];
const RF_SAMPLERS: readonly SamplerName[] = ['pingpong', 'euler'];

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
