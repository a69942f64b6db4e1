import { z } from 'zod';
import { LIMITS, OUTPUT_FORMATS, SAMPLERS, secondsTotalAllowed, type SamplerName } from './limits';

// Each field carries one message that states what is allowed, whatever was wrong with the value
// (wrong type, NaN, out of range), so a 400 always tells the caller the range to fix it with.
const between = (low: number, high: number) => `must be a number from ${low} to ${high}`;
const integerBetween = (low: number, high: number) => `must be an integer from ${low} to ${high}`;
const oneOf = (values: readonly string[]) => `must be one of ${values.join(', ')}`;
const text = (max: number) => `must be a string of at most ${max} characters`;
// Postgres text cannot hold U+0000: refuse it here with a 400 rather than fail the insert with a 500.
const NO_NUL = 'must not contain NUL characters (U+0000)';
const hasNoNul = (value: string) => !value.includes('\u0000');
// A lone surrogate (JSON `"\ud800"`) is not text: Postgres would store U+FFFD instead of what was sent.
export const UNPAIRED_SURROGATE = 'must be valid Unicode text: it holds an unpaired surrogate (such as \\ud800)';
const UNPAIRED = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export const isWellFormedText = (value: string) => !UNPAIRED.test(value);

export interface ModelBounds {
  /** Shortest and longest seconds_total the model renders (`secondsTotalRange` in @chorus/inference). */
  secondsTotal?: { min: number; max: number };
  /** Largest seconds_start the model's timing conditioning was trained on. */
  secondsStartMax?: number;
  /** The samplers the model accepts (its objective's); absent: every sampler. */
  samplers?: readonly SamplerName[];
}

/**
 * The body of `POST /v1/generations` (snake_case on the wire), with the model's bounds built into
 * each field, so that every wrong value of a field (wrong type, too small, too large) gets the same
 * message naming the same range.
 */
function requestSchema(bounds: ModelBounds) {
  const total = bounds.secondsTotal;
  const startMax = bounds.secondsStartMax ?? LIMITS.secondsStartMax;
  const startRule = `${between(0, startMax)}${bounds.secondsStartMax === undefined ? '' : " (the model's timing range)"}`;
  const totalRule = total ? `must be ${secondsTotalAllowed(total)}` : 'must be a number of seconds > 0';
  const secondsTotal = total
    ? z.number({ error: totalRule }).min(total.min, totalRule).max(total.max, totalRule)
    : z.number({ error: totalRule }).gt(0, totalRule);
  return z
    .object({
      prompt: z
        .string({ error: (issue) => (issue.input === undefined ? `is required: ${text(LIMITS.promptMaxChars)}` : text(LIMITS.promptMaxChars)) })
        .trim()
        .min(1, 'must not be empty')
        .max(LIMITS.promptMaxChars, `must be at most ${LIMITS.promptMaxChars} characters`)
        .refine(hasNoNul, NO_NUL)
        .refine(isWellFormedText, UNPAIRED_SURROGATE),
      negative_prompt: z
        .string({ error: text(LIMITS.promptMaxChars) })
        .max(LIMITS.promptMaxChars, `must be at most ${LIMITS.promptMaxChars} characters`)
        .refine(hasNoNul, NO_NUL)
        .refine(isWellFormedText, UNPAIRED_SURROGATE)
        .optional(),
      seconds_start: z.number({ error: startRule }).min(0, startRule).max(startMax, startRule).optional(),
      seconds_total: secondsTotal.optional(),
      steps: z.number({ error: integerBetween(LIMITS.stepsMin, LIMITS.stepsMax) }).int().min(LIMITS.stepsMin).max(LIMITS.stepsMax).optional(),
      cfg_scale: z.number({ error: between(LIMITS.cfgScaleMin, LIMITS.cfgScaleMax) }).min(LIMITS.cfgScaleMin).max(LIMITS.cfgScaleMax).optional(),
      sampler: samplerField(bounds.samplers),
      seed: z.number({ error: integerBetween(0, LIMITS.seedMax) }).int().min(0).max(LIMITS.seedMax).optional(),
      output_format: z.enum(OUTPUT_FORMATS, { error: oneOf(OUTPUT_FORMATS) }).optional(),
      webhook_url: z
        .url({ error: 'must be an absolute http(s) URL of at most 2048 characters', protocol: /^https?$/ })
        .max(2048)
        .optional(),
      priority: z.number({ error: integerBetween(LIMITS.priorityMin, LIMITS.priorityMax) }).int().min(LIMITS.priorityMin).max(LIMITS.priorityMax).optional(),
    })
    .strict();
}

/** A sampler name, one of the model's (its objective's) when the model is known. */
function samplerField(samplers: readonly SamplerName[] | undefined) {
  if (!samplers) return z.enum(SAMPLERS, { error: oneOf(SAMPLERS) }).optional();
  const rule = `${oneOf(samplers)} (the samplers the model accepts)`;
  return z
    .enum(SAMPLERS, { error: rule })
    .refine((name) => samplers.includes(name), rule)
    .optional();
}

/** The body without a model's bounds (the OpenAPI document's view); the API checks `withModelWindow`'s. */
export const generationRequestSchema = requestSchema({});

export type GenerationRequestBody = z.infer<typeof generationRequestSchema>;

/** The body checked against the served model: seconds_total within its range, seconds_start within its timing range. */
export function withModelWindow(bounds: ModelBounds) {
  return requestSchema(bounds);
}

/**
 * The optional body of `POST /v1/generations/:id/rerun`: what may differ from the original without
 * changing its audio. A field that would change the audio (prompt, seed, steps, …) is refused, not ignored.
 */
export const rerunRequestSchema = z
  .object({
    output_format: generationRequestSchema.shape.output_format,
    priority: generationRequestSchema.shape.priority,
    webhook_url: generationRequestSchema.shape.webhook_url,
  })
  .strict();

/** What an unknown or audio-changing field of a rerun body is told. */
export const RERUN_FIELD_REFUSED =
  "cannot change on a rerun, which repeats the original's parameters and seed; a rerun body may set only output_format, priority and webhook_url";
export type RerunRequestBody = z.infer<typeof rerunRequestSchema>;
