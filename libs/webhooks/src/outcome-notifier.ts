import { batchEvent, generationEvent, type BatchEventData, type FinishedGeneration } from './webhook-events';
import type { WebhookQueue } from './webhook-queue';

/** The batch side the notifier needs: finishing a batch exactly once, and its counts. */
export interface BatchCompletion {
  finishIfDone(batchId: string): Promise<{ id: string; tenantId: string; status: string; total: number; webhookUrl: string | null; finishedAt: Date | null } | null>;
  countByStatus(batchId: string): Promise<BatchEventData['counts']>;
}

/**
 * What happens when a generation ends (succeeded, failed or canceled), wherever it ended — the
 * worker, or the API canceling a queued one: its webhook is queued, and its batch, if this was
 * the batch's last open item, is finished and announced.
 */
export class OutcomeNotifier {
  constructor(
    private readonly webhooks: WebhookQueue,
    private readonly batches: BatchCompletion,
  ) {}

  async generationFinished(generation: FinishedGeneration & { tenantId: string; webhookUrl: string | null }): Promise<void> {
    if (generation.webhookUrl) {
      await this.webhooks.enqueue(generation.tenantId, generation.webhookUrl, generationEvent(generation), {
        generationId: generation.id,
        batchId: generation.batchId,
      });
    }
    if (generation.batchId) await this.batchMayBeFinished(generation.batchId);
  }

  /** Finishes the batch if nothing in it is queued or running any more, announcing it once. */
  async batchMayBeFinished(batchId: string): Promise<void> {
    const batch = await this.batches.finishIfDone(batchId);
    if (!batch?.webhookUrl) return;
    const counts = await this.batches.countByStatus(batchId);
    const event = batchEvent({
      id: batch.id,
      status: batch.status === 'canceled' ? 'canceled' : 'completed',
      total: batch.total,
      counts,
      finished_at: batch.finishedAt?.toISOString() ?? null,
    });
    await this.webhooks.enqueue(batch.tenantId, batch.webhookUrl, event, { batchId: batch.id });
  }
}
