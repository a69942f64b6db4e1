import type { BatchResource } from '@chorus/contracts';
import type { Batch, StatusCounts } from '@chorus/db';

export function toBatchResource(batch: Batch, counts: StatusCounts): BatchResource {
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

function statusOf(batch: Batch, counts: StatusCounts): BatchResource['status'] {
  const open = counts.queued + counts.running;
  if (batch.finishedAt || open === 0) return batch.canceledAt ? 'canceled' : 'completed';
  if (batch.canceledAt) return 'canceling';
  return open < batch.total || counts.running > 0 ? 'running' : 'queued';
}
