import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { envBoolean, parseEnv } from '@chorus/contracts';
import { BatchRepository, PRISMA, type PrismaClient } from '@chorus/db';
import type { QueueConnection } from '@chorus/queue';
import { OutcomeNotifier, WebhookQueue } from '@chorus/webhooks';
import type { Logger } from 'pino';
import { z } from 'zod';
import { WebhookConsumer } from './webhook-consumer';

/** The worker's webhook settings, read from the environment beside WorkerConfig. */
export const webhookConfigSchema = z.object({
  /** Lets webhooks reach loopback: only for the project's own tests. */
  WEBHOOK_ALLOW_LOOPBACK: envBoolean.default(false),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
});
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

const CONNECTION = Symbol('chorus:webhooks-connection');

/**
 * Webhooks in the worker process: `OutcomeNotifier` for the generation processor to call when a
 * generation ends (it queues the generation's webhook and finishes its batch), and the consumer
 * that delivers the `webhooks` queue.
 *
 *   imports: [WorkerWebhooksModule.forRoot(connection, logger)]
 *   … await this.outcomes.generationFinished(row)   // after markSucceeded / markFailed / markCanceled
 */
@Global()
@Module({})
export class WorkerWebhooksModule implements OnApplicationShutdown {
  constructor(
    private readonly consumer: WebhookConsumer,
    @Inject(WebhookQueue) private readonly queue: WebhookQueue,
  ) {}

  static forRoot(connection: QueueConnection, logger: Logger, env: NodeJS.ProcessEnv = process.env): DynamicModule {
    const config = parseEnv(webhookConfigSchema, env);
    return {
      module: WorkerWebhooksModule,
      providers: [
        { provide: CONNECTION, useValue: connection },
        { provide: WebhookQueue, useFactory: () => new WebhookQueue(connection) },
        BatchRepository,
        {
          provide: OutcomeNotifier,
          inject: [WebhookQueue, BatchRepository],
          useFactory: (queue: WebhookQueue, batches: BatchRepository) => new OutcomeNotifier(queue, batches),
        },
        {
          provide: WebhookConsumer,
          inject: [PRISMA],
          useFactory: (prisma: PrismaClient) =>
            new WebhookConsumer(connection, prisma, logger.child({ component: 'webhooks' }), {
              allowLoopback: config.WEBHOOK_ALLOW_LOOPBACK,
              timeoutMs: config.WEBHOOK_TIMEOUT_MS,
              concurrency: config.WEBHOOK_CONCURRENCY,
            }),
        },
      ],
      exports: [OutcomeNotifier],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.consumer.close(), this.queue.close()]);
  }
}
