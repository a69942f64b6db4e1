import { Queue, type DefaultJobOptions } from 'bullmq';
import { bullConnection, QueueName, type QueueConnection } from '@chorus/queue';
import type { WebhookEvent, WebhookEventType } from './webhook-events';

/** One event to deliver to one URL. The body is serialized once, so every attempt signs the same bytes. */
export interface WebhookJobData {
  eventId: string;
  type: WebhookEventType;
  tenantId: string;
  url: string;
  body: string;
  generationId?: string | null;
  batchId?: string | null;
}

export const WebhookJobName = { Deliver: 'deliver' } as const;

export interface WebhookRetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The first retry waits this long; each later one twice as long as the one before. */
  backoffMs: number;
}

/** 10 attempts from 5 s doubling: the last retry comes about 43 minutes after the first try. */
export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = { attempts: 10, backoffMs: 5_000 };

export function webhookJobOptions(policy: WebhookRetryPolicy = DEFAULT_WEBHOOK_RETRY): DefaultJobOptions {
  return {
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    // Postgres keeps every attempt (webhook_deliveries); Redis only what is pending.
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

/** The producer side of the `webhooks` queue. */
export class WebhookQueue {
  readonly queue: Queue<WebhookJobData>;

  constructor(connection: QueueConnection, policy: WebhookRetryPolicy = DEFAULT_WEBHOOK_RETRY) {
    this.queue = new Queue<WebhookJobData>(QueueName.Webhooks, {
      connection: bullConnection(connection),
      prefix: connection.prefix,
      defaultJobOptions: webhookJobOptions(policy),
    });
  }

  /** Queues the event for the URL; the job id is the event id, so queueing it twice is a no-op. */
  async enqueue(
    tenantId: string,
    url: string,
    event: WebhookEvent,
    subject: { generationId?: string | null; batchId?: string | null } = {},
  ): Promise<void> {
    const data: WebhookJobData = { eventId: event.id, type: event.type, tenantId, url, body: JSON.stringify(event), ...subject };
    await this.queue.add(WebhookJobName.Deliver, data, { jobId: event.id });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
