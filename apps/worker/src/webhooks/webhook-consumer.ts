import { UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { TenantRepository, WebhookDeliveryRepository, type PrismaClient } from '@chorus/db';
import { bullConnection, QueueName, type QueueConnection } from '@chorus/queue';
import { WebhookDeliverer, WebhookUndeliverableError, type WebhookDelivererOptions, type WebhookJobData } from '@chorus/webhooks';

export interface WebhookConsumerOptions extends WebhookDelivererOptions {
  /** Deliveries in flight at once; they wait on the network, not the CPU. */
  concurrency?: number;
}

/**
 * Consumes the `webhooks` queue in the worker process: each job is one delivery attempt, retried
 * by BullMQ with exponential backoff (the queue's job options) until a 2xx answer or the last
 * attempt. A URL refused at delivery time fails the job for good: no retry can make it safe.
 */
export class WebhookConsumer {
  private readonly worker: Worker<WebhookJobData>;

  constructor(connection: QueueConnection, prisma: PrismaClient, logger: Logger, options: WebhookConsumerOptions = {}) {
    const tenants = new TenantRepository(prisma);
    const deliverer = new WebhookDeliverer(
      { secretFor: async (tenantId) => (await tenants.findById(tenantId))?.webhookSecret ?? null },
      new WebhookDeliveryRepository(prisma),
      options,
    );
    this.worker = new Worker<WebhookJobData>(
      QueueName.Webhooks,
      async (job) => {
        const attempt = job.attemptsMade + 1;
        const log = { event_id: job.data.eventId, event: job.data.type, tenant_id: job.data.tenantId, attempt };
        try {
          await deliverer.deliver(job.data, attempt);
          logger.info(log, 'webhook delivered');
        } catch (error) {
          logger.warn({ ...log, err: error }, 'webhook attempt failed');
          if (error instanceof WebhookUndeliverableError) throw new UnrecoverableError(error.message);
          throw error;
        }
      },
      { connection: bullConnection(connection), prefix: connection.prefix, concurrency: options.concurrency ?? 16 },
    );
    this.worker.on('error', (error) => logger.error({ err: error }, 'webhook consumer error'));
  }

  /**
   * Stops taking deliveries and waits for those in flight. BullMQ 6.7's graceful close never
   * returns while Redis is down or reconnecting (a SIGTERM during a failover), so stop waiting
   * after `timeoutMs`: an unfinished delivery's lock lapses and another worker retries it
   * (webhooks are delivered at least once anyway).
   */
  async close(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([this.worker.close(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}
