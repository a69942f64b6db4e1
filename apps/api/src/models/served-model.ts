import type { SamplerName } from '@chorus/contracts';

/** What the API needs to know about the model the workers serve: its window and its defaults. */
export interface ServedModel {
  name: string;
  version: string;
  sampleRate: number;
  channels: number;
  /** Longest seconds_total it can render. */
  windowSeconds: number;
  /** Largest seconds_start its timing conditioning knows. */
  secondsStartMax: number;
  /** The samplers it accepts: those of its objective. */
  samplers: readonly SamplerName[];
  defaults: { steps: number; sampler: SamplerName; cfgScale: number };
}

/** Holds the served model, read once at start-up from MODEL_DIR. */
export class ModelCatalog {
  constructor(readonly model: ServedModel) {}
}
