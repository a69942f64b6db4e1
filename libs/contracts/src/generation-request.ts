import { z } from 'zod';
import { LIMITS, OUTPUT_FORMATS, SAMPLERS } from './limits';

/**
 * The body of `POST /v1/generations` (snake_case on the wire). Model-dependent bounds
 * (seconds_total against the window) are checked by `withModelWindow`, once the model is known.
 */
export const generationRequestSchema = z
  .object({
    prompt: z.string().trim().min(1, 'must not be empty').max(LIMITS.promptMaxChars, `must be at most ${LIMITS.promptMaxChars} characters`),
    negative_prompt: z.string().max(LIMITS.promptMaxChars, `must be at most ${LIMITS.promptMaxChars} characters`).optional(),
    seconds_start: z.number().finite().min(0, 'must be >= 0').max(LIMITS.secondsStartMax, `must be <= ${LIMITS.secondsStartMax}`).optional(),
    seconds_total: z.number().finite().gt(0, 'must be > 0').optional(),
    steps: z.number().int('must be an integer').min(LIMITS.stepsMin, `must be >= ${LIMITS.stepsMin}`).max(LIMITS.stepsMax, `must be <= ${LIMITS.stepsMax}`).optional(),
    cfg_scale: z.number().finite().min(LIMITS.cfgScaleMin, `must be >= ${LIMITS.cfgScaleMin}`).max(LIMITS.cfgScaleMax, `must be <= ${LIMITS.cfgScaleMax}`).optional(),
    sampler: z.enum(SAMPLERS, { message: `must be one of ${SAMPLERS.join(', ')}` }).optional(),
    seed: z.number().int('must be an integer').min(0, 'must be >= 0').max(LIMITS.seedMax, `must be <= ${LIMITS.seedMax}`).optional(),
    output_format: z.enum(OUTPUT_FORMATS, { message: `must be one of ${OUTPUT_FORMATS.join(', ')}` }).optional(),
    webhook_url: z.string().url('must be an absolute URL').max(2048).optional(),
    priority: z.number().int('must be an integer').min(LIMITS.priorityMin).max(LIMITS.priorityMax).optional(),
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
        message: `must be <= ${windowSeconds.toFixed(2)} (the model's window)`,
      });
    }
  });
}
