import { z } from 'zod';
import { LIMITS, OUTPUT_FORMATS, SAMPLERS } from './limits';

// Each field carries one message that states what is allowed, whatever was wrong with the value
// (wrong type, NaN, out of range), so a 400 always tells the caller the range to fix it with.
const between = (low: number, high: number) => `must be a number from ${low} to ${high}`;
const integerBetween = (low: number, high: number) => `must be an integer from ${low} to ${high}`;
const oneOf = (values: readonly string[]) => `must be one of ${values.join(', ')}`;
const text = (max: number) => `must be a string of at most ${max} characters`;

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
      .max(LIMITS.promptMaxChars, `must be at most ${LIMITS.promptMaxChars} characters`),
    negative_prompt: z
      .string({ error: text(LIMITS.promptMaxChars) })
      .max(LIMITS.promptMaxChars, `must be at most ${LIMITS.promptMaxChars} characters`)
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

/** Adds the model's window to the schema: seconds_total may not exceed it. */
export function withModelWindow(windowSeconds: number) {
  return generationRequestSchema.superRefine((body, ctx) => {
    if (body.seconds_total !== undefined && body.seconds_total > windowSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['seconds_total'],
        message: `must be a number of seconds > 0 and <= ${windowSeconds.toFixed(2)} (the model's window)`,
      });
    }
  });
}
