import type { Batch, StatusCounts } from '@chorus/db';

/** The API's batch resource; `counts` has every generation status. */
export interface BatchResourceBody {
  id: string;
  status: 'queued' | 'running' | 'canceling' | 'completed' | 'canceled';
  total: number;
  counts: StatusCounts;
  webhook_url: string | null;
  created_at: string;
  finished_at: string | null;
  canceled_at: string | null;
  manifest_url: string;
}

export function toBatchResource(batch: Batch, counts: StatusCounts): BatchResourceBody {
  return {
    id: batch.id,
    status: statusOf(batch, counts),
    total: batch.total,
    counts,
    webhook_url: batch.webhookUrl,
    created_at: batch.createdAt.toISOString(),
    finished_at: batch.finishedAt?.toISOString() ?? null,
    canceled_at: batch.canceledAt?.toISOString() ?? null,
    manifest_url: `/v1/batches/${batch.id}/manifest`,
  };
}

function statusOf(batch: Batch, counts: StatusCounts): BatchResourceBody['status'] {
  const open = counts.queued + counts.running;
  if (batch.finishedAt || open === 0) return batch.canceledAt ? 'canceled' : 'completed';
  if (batch.canceledAt) return 'canceling';
  return open < batch.total || counts.running > 0 ? 'running' : 'queued';
}
