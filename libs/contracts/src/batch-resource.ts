import type { GenerationStatus } from './limits';

/**
 * A batch as `GET /v1/batches/:id` answers it. `status` is queued → running → completed, or
 * canceling → canceled once canceled; `counts` has every generation status.
 */
export interface BatchResource {
  id: string;
  status: 'queued' | 'running' | 'canceling' | 'completed' | 'canceled';
  total: number;
  counts: Record<GenerationStatus, number>;
  webhook_url: string | null;
  created_at: string;
  finished_at: string | null;
  canceled_at: string | null;
  manifest_url: string;
}

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
