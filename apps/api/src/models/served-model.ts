import type { SamplerName } from '@chorus/contracts';

/** What the API needs to know about the model the workers serve: its window and its defaults. */
export interface ServedModel {
  name: string;
  version: string;
  sampleRate: number;
  channels: number;
  /** Longest seconds_total it renders: its window as `secondsTotalRange` states it (11.88 for chorus-tiny). */
  windowSeconds: number;
  /** Shortest seconds_total it renders: one latent frame, rounded up to 0.01 s. */
  secondsTotalMin: number;
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
