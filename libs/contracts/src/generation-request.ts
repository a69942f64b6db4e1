import { z } from 'zod';
import { LIMITS, OUTPUT_FORMATS, SAMPLERS, type SamplerName } from './limits';

// Each field carries one message that states what is allowed, whatever was wrong with the value
// (wrong type, NaN, out of range), so a 400 always tells the caller the range to fix it with.
const between = (low: number, high: number) => `must be a number from ${low} to ${high}`;
const integerBetween = (low: number, high: number) => `must be an integer from ${low} to ${high}`;
const oneOf = (values: readonly string[]) => `must be one of ${values.join(', ')}`;
const text = (max: number) => `must be a string of at most ${max} characters`;
// Postgres text cannot hold U+0000: refuse it here with a 400 rather than fail the insert with a 500.
const NO_NUL = 'must not contain NUL characters (U+0000)';
const hasNoNul = (value: string) => !value.includes('\u0000');

/**
 * The body of `POST /v1/generations` (snake_case on the wire). Model-dependent bounds
 * (seconds_total against the window) are checked by `withModelWindow`, once the model is known.
 */
export const generationRequestSchema = z
  .object({
    prompt: z
      .string({ error: `is required: ${text(LIMITS.promptMaxChars)}` })
      .trim()
      .min(1, 'must not be empty')
      .max(LIMITS.promptMaxChars, `must be at most ${LIMITS.promptMaxChars} characters`)
      .refine(hasNoNul, NO_NUL),
    negative_prompt: z
      .string({ error: text(LIMITS.promptMaxChars) })
      .max(LIMITS.promptMaxChars, `must be at most ${LIMITS.promptMaxChars} characters`)
      .refine(hasNoNul, NO_NUL)
      .optional(),
    seconds_start: z.number({ error: between(0, LIMITS.secondsStartMax) }).min(0).max(LIMITS.secondsStartMax).optional(),
    seconds_total: z.number({ error: 'must be a number of seconds > 0' }).gt(0).optional(),
    steps: z.number({ error: integerBetween(LIMITS.stepsMin, LIMITS.stepsMax) }).int().min(LIMITS.stepsMin).max(LIMITS.stepsMax).optional(),
    cfg_scale: z.number({ error: between(LIMITS.cfgScaleMin, LIMITS.cfgScaleMax) }).min(LIMITS.cfgScaleMin).max(LIMITS.cfgScaleMax).optional(),
    sampler: z.enum(SAMPLERS, { error: oneOf(SAMPLERS) }).optional(),
    seed: z.number({ error: integerBetween(0, LIMITS.seedMax) }).int().min(0).max(LIMITS.seedMax).optional(),
    output_format: z.enum(OUTPUT_FORMATS, { error: oneOf(OUTPUT_FORMATS) }).optional(),
    webhook_url: z
      .url({ error: 'must be an absolute http(s) URL of at most 2048 characters', protocol: /^https?$/ })
      .max(2048)
      .optional(),
    priority: z.number({ error: integerBetween(LIMITS.priorityMin, LIMITS.priorityMax) }).int().min(LIMITS.priorityMin).max(LIMITS.priorityMax).optional(),
  })
  .strict();

export type GenerationRequestBody = z.infer<typeof generationRequestSchema>;

export interface ModelBounds {
  /** Largest seconds_start the model's timing conditioning was trained on. */
  secondsStartMax?: number;
  /** The samplers the model accepts (its objective's); absent: every sampler. */
  samplers?: readonly SamplerName[];
}

/**
 * Adds the model's bounds to the schema: seconds_total may not exceed its window, seconds_start may not
 * exceed the range its timing conditioning knows, and the sampler must be one the model accepts.
 */
export function withModelWindow(windowSeconds: number, bounds: ModelBounds = {}) {
  return generationRequestSchema.superRefine((body, ctx) => {
    if (body.seconds_total !== undefined && body.seconds_total > windowSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['seconds_total'],
        // Rounded down, so that the value the message names is itself accepted.
        message: `must be a number of seconds > 0 and <= ${Math.floor(windowSeconds * 100) / 100} (the model's window)`,
      });
    }
    const startMax = bounds.secondsStartMax;
    if (startMax !== undefined && body.seconds_start !== undefined && body.seconds_start > startMax) {
      ctx.addIssue({ code: 'custom', path: ['seconds_start'], message: `${between(0, startMax)} (the model's timing range)` });
    }
    const samplers = bounds.samplers;
    if (samplers !== undefined && body.sampler !== undefined && !samplers.includes(body.sampler)) {
      ctx.addIssue({ code: 'custom', path: ['sampler'], message: `${oneOf(samplers)} (the samplers the model accepts)` });
    }
  });
}
