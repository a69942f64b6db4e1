/** What a caller asks of the model and what it gets back, and the rules a request must follow. */
import { randomInt } from 'node:crypto';
import { LIMITS, samplersForObjective, secondsTotalAllowed, type SamplerName } from '@chorus/contracts';
import { InvalidRequestError } from './errors';
import { secondsTotalRange, type ModelManifest } from './manifest';

export type { SamplerName } from '@chorus/contracts';

export interface GenerationRequest {
  prompt: string;
  /** Replaces the unconditional (empty-text) branch of classifier-free guidance. */
  negativePrompt?: string;
  secondsStart: number;
  secondsTotal: number;
  steps: number;
  cfgScale: number;
  sampler: SamplerName;
  /** uint32; the same seed and parameters give byte-identical audio on the same machine. */
  seed: number;
  /** Evaluation only: return the whole window instead of trimming to seconds_total, to measure the silence after it. */
  keepWindow?: boolean;
}

export interface GeneratedAudio {
  /** One array per channel, `frames` samples each, clamped to [−1, 1]. */
  channels: Float32Array[];
  sampleRate: number;
  frames: number;
  seed: number;
  timingsMs: { textEncoding: number; sampling: number; decoding: number };
}

/** seconds_total when the caller gives none (or the model's window, if shorter). */
export const DEFAULT_SECONDS_TOTAL = 10;

/** The caller's seed, or a random uint32 when there is none. */
export function resolveSeed(seed?: number): number {
  return seed ?? randomInt(0, LIMITS.seedMax + 1);
}

/** The largest seconds_total a model can render (`secondsTotalRange(m).max`). */
export function maxSecondsTotal(m: ModelManifest): number {
  return secondsTotalRange(m).max;
}

/**
 * Applies the model's defaults and checks every field against the farm's limits and the model.
 * Throws InvalidRequestError naming the field and its allowed range.
 */
export function validateGenerationRequest(m: ModelManifest, r: Partial<GenerationRequest>): GenerationRequest {
  const prompt = r.prompt;
  if (typeof prompt !== 'string' || prompt.trim().length === 0) {
    throw new InvalidRequestError('prompt', `a non-empty text of at most ${LIMITS.promptMaxChars} characters`, prompt ?? '');
  }
  if (prompt.length > LIMITS.promptMaxChars) {
    throw new InvalidRequestError('prompt', `at most ${LIMITS.promptMaxChars} characters`, prompt.length);
  }
  let negativePrompt = r.negativePrompt;
  if (negativePrompt !== undefined) {
    if (typeof negativePrompt !== 'string' || negativePrompt.length > LIMITS.promptMaxChars) {
      throw new InvalidRequestError('negativePrompt', `a text of at most ${LIMITS.promptMaxChars} characters`, String(negativePrompt).length);
    }
    if (negativePrompt.trim().length === 0) negativePrompt = undefined;
  }

  const secondsStart = r.secondsStart ?? 0;
  if (m.timing.seconds_start === undefined) {
    // The model has no seconds_start conditioning (SAO Small): refuse a value it would silently ignore.
    if (secondsStart !== 0) throw new InvalidRequestError('secondsStart', "0 (the model has no seconds_start conditioning)", secondsStart);
  } else {
    const startMin = Math.max(0, m.timing.seconds_start.min);
    const startMax = Math.min(LIMITS.secondsStartMax, m.timing.seconds_start.max);
    if (!Number.isFinite(secondsStart) || secondsStart < startMin || secondsStart > startMax) {
      throw new InvalidRequestError('secondsStart', `a number >= ${startMin} and <= ${startMax}`, secondsStart);
    }
  }

  const total = secondsTotalRange(m);
  const secondsTotal = r.secondsTotal ?? Math.min(DEFAULT_SECONDS_TOTAL, total.max);
  if (!Number.isFinite(secondsTotal) || secondsTotal < total.min || secondsTotal > total.max) {
    throw new InvalidRequestError('secondsTotal', secondsTotalAllowed(total), secondsTotal);
  }

  const steps = r.steps ?? m.defaults.steps;
  if (!Number.isInteger(steps) || steps < LIMITS.stepsMin || steps > LIMITS.stepsMax) {
    throw new InvalidRequestError('steps', `an integer >= ${LIMITS.stepsMin} and <= ${LIMITS.stepsMax}`, steps);
  }

  const cfgScale = r.cfgScale ?? m.defaults.cfg_scale;
  if (!Number.isFinite(cfgScale) || cfgScale < LIMITS.cfgScaleMin || cfgScale > LIMITS.cfgScaleMax) {
    throw new InvalidRequestError('cfgScale', `a number >= ${LIMITS.cfgScaleMin} and <= ${LIMITS.cfgScaleMax}`, cfgScale);
  }

  const sampler = r.sampler ?? m.defaults.sampler;
  const accepted = samplersForObjective(m.diffusion.objective);
  if (!accepted.includes(sampler)) {
    throw new InvalidRequestError('sampler', `one of ${accepted.join(', ')} (the samplers of this model's objective, ${m.diffusion.objective})`, sampler);
  }

  const seed = resolveSeed(r.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > LIMITS.seedMax) {
    throw new InvalidRequestError('seed', `an integer >= 0 and <= ${LIMITS.seedMax}`, seed);
  }

  return { prompt, ...(negativePrompt !== undefined && { negativePrompt }), secondsStart, secondsTotal, steps, cfgScale, sampler, seed };
}
