import { z } from 'zod';
import { GENERATION_STATUSES, OUTPUT_FORMATS, SAMPLERS, type GenerationStatus } from './limits';

/**
 * The generation as the API returns it (`GET /v1/generations/:id`, list items, submit and
 * cancel answers). Request parameters appear at the top level, as they were submitted, with
 * defaults and the seed resolved at submit time.
 */
export const generationAudioSchema = z.object({
  /** Presigned, short-lived GET URL of the object in S3. */
  url: z.string(),
  /** The same object, answered with `Content-Disposition: attachment; filename="<id>.<format>"`. */
  download_url: z.string(),
  format: z.enum(OUTPUT_FORMATS),
  bytes: z.number().int(),
  seconds: z.number(),
  sample_rate: z.number().int(),
  channels: z.number().int(),
});

/** Milliseconds; null while a stage has not happened yet. `total` runs from submit to finish. */
export const generationTimingsSchema = z.object({
  queue: z.number().nullable(),
  inference: z.number().nullable(),
  encode: z.number().nullable(),
  upload: z.number().nullable(),
  total: z.number().nullable(),
});

export const generationResourceSchema = z.object({
  id: z.string(),
  status: z.enum(GENERATION_STATUSES),
  progress: z.number().min(0).max(1),
  seed: z.number().int(),
  prompt: z.string(),
  negative_prompt: z.string().nullable(),
  seconds_start: z.number(),
  seconds_total: z.number(),
  steps: z.number().int(),
  cfg_scale: z.number(),
  sampler: z.enum(SAMPLERS),
  output_format: z.enum(OUTPUT_FORMATS),
  priority: z.number().int().nullable(),
  webhook_url: z.string().nullable(),
  batch_id: z.string().nullable(),
  /** Its row in the batch file (1-based), when it came from a batch. */
  batch_index: z.number().int().nullable(),
  model: z.object({ name: z.string(), version: z.string() }),
  worker_id: z.string().nullable(),
  attempts: z.number().int(),
  audio: generationAudioSchema.nullable(),
  timings_ms: generationTimingsSchema,
  error: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});

export type GenerationAudio = z.infer<typeof generationAudioSchema>;
export type GenerationTimings = z.infer<typeof generationTimingsSchema>;
export type GenerationResource = z.infer<typeof generationResourceSchema>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUS_LIST = new RegExp(`^(${GENERATION_STATUSES.join('|')})(,(${GENERATION_STATUSES.join('|')}))*$`);

export const LIST_LIMIT_DEFAULT = 20;
export const LIST_LIMIT_MAX = 100;

/** Query string of `GET /v1/generations`. Newest first; `cursor` is the `next_cursor` of the previous page. */
export const listGenerationsQuerySchema = z
  .object({
    /** One status, or several separated by commas (`queued,running`). */
    status: z
      .string()
      .regex(STATUS_LIST, `must be one or more of ${GENERATION_STATUSES.join(', ')}, separated by commas`)
      .transform((text) => text.split(',') as GenerationStatus[])
      .optional(),
    q: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters')
      // Postgres text cannot hold U+0000.
      .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters (U+0000)')
      .optional(),
    batch_id: z.string().regex(UUID, 'must be a batch id (a UUID)').optional(),
    limit: z
      .string()
      .regex(/^\d{1,3}$/, `must be an integer from 1 to ${LIST_LIMIT_MAX}`)
      .transform(Number)
      .pipe(z.number().int().min(1, `must be >= 1`).max(LIST_LIMIT_MAX, `must be <= ${LIST_LIMIT_MAX}`))
      .optional(),
    cursor: z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters').optional(),
  })
  .strict();

export type ListGenerationsQuery = z.infer<typeof listGenerationsQuerySchema>;

export const generationListSchema = z.object({
  data: z.array(generationResourceSchema),
  /** Pass as `cursor` to get the next page; null on the last page. */
  next_cursor: z.string().nullable(),
});
export type GenerationList = z.infer<typeof generationListSchema>;

/** One servable model (`GET /v1/models`). */
export const modelInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  sample_rate: z.number().int(),
  channels: z.number().int(),
  /** Longest `seconds_total` the model renders: its latent window in seconds, rounded down to 0.01 s (11.88 for chorus-tiny). */
  window_seconds: z.number(),
  /** Shortest `seconds_total` the model renders: one latent frame, rounded up to 0.01 s. */
  seconds_total_min: z.number(),
  /** Largest `seconds_start` its timing conditioning knows. */
  seconds_start_max: z.number(),
  defaults: z.object({ steps: z.number().int(), sampler: z.enum(SAMPLERS), cfg_scale: z.number() }),
  samplers: z.array(z.enum(SAMPLERS)),
  output_formats: z.array(z.enum(OUTPUT_FORMATS)),
});
export type ModelInfo = z.infer<typeof modelInfoSchema>;

export const modelListSchema = z.object({ data: z.array(modelInfoSchema) });
export type ModelList = z.infer<typeof modelListSchema>;
