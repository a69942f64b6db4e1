import { z } from 'zod';
import { GENERATION_STATUSES, type GenerationStatus } from './limits';

export const BATCH_STATUSES = ['queued', 'running', 'canceling', 'completed', 'canceled'] as const;

/**
 * A batch as `GET /v1/batches/:id` answers it. `status` is queued → running → completed, or
 * canceling → canceled once canceled; `counts` has every generation status.
 */
export const batchResourceSchema = z.object({
  id: z.string(),
  status: z.enum(BATCH_STATUSES),
  total: z.number().int(),
  counts: z.object(Object.fromEntries(GENERATION_STATUSES.map((status) => [status, z.number().int()])) as Record<GenerationStatus, z.ZodNumber>),
  webhook_url: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  canceled_at: z.string().nullable(),
  manifest_url: z.string(),
});
export type BatchResource = z.infer<typeof batchResourceSchema>;

/** One line of `GET /v1/batches/:id/manifest` (JSON Lines): a row of the batch and what became of it. */
export interface BatchManifestLine {
  /** 1-based row of the batch file. */
  row: number;
  id: string;
  status: GenerationStatus;
  params: {
    prompt: string;
    negative_prompt: string | null;
    seconds_start: number;
    seconds_total: number;
    steps: number;
    cfg_scale: number;
    sampler: string;
    output_format: string;
  };
  seed: number;
  model: { name: string | null; version: string | null };
  /** Present once the row succeeded; `url` is presigned and short-lived. */
  audio: { url: string; key: string; format: string; bytes: number | null; seconds: number | null } | null;
  error: string | null;
}
