import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { BatchRepository, PRISMA, type PrismaClient } from '@chorus/db';
import type { QueueConnection } from '@chorus/queue';
import { OutcomeNotifier, WebhookQueue } from '@chorus/webhooks';
import type { Logger } from 'pino';
import { workerConfigSchema, type WorkerConfig } from '../worker-config';
import { WebhookConsumer } from './webhook-consumer';

/** The worker's webhook settings: part of WorkerConfig, named here for the modules that read them. */
export const webhookConfigSchema = workerConfigSchema.pick({ WEBHOOK_ALLOW_LOOPBACK: true, WEBHOOK_TIMEOUT_MS: true, WEBHOOK_CONCURRENCY: true });
export type WebhookConfig = Pick<WorkerConfig, keyof typeof webhookConfigSchema.shape>;

const CONNECTION = Symbol('chorus:webhooks-connection');

/**
 * Webhooks in the worker process: `OutcomeNotifier` for the generation processor to call when a
 * generation ends (it queues the generation's webhook and finishes its batch), and the consumer
 * that delivers the `webhooks` queue.
 *
 *   imports: [WorkerWebhooksModule.forRoot(connection, logger, config)]
 *   … await this.outcomes.generationFinished(row)   // after markSucceeded / markFailed / markCanceled
 */
@Global()
@Module({})
export class WorkerWebhooksModule implements OnApplicationShutdown {
  constructor(
    private readonly consumer: WebhookConsumer,
    @Inject(WebhookQueue) private readonly queue: WebhookQueue,
  ) {}

  static forRoot(connection: QueueConnection, logger: Logger, config: WebhookConfig): DynamicModule {
    return {
      module: WorkerWebhooksModule,
      providers: [
        { provide: CONNECTION, useValue: connection },
        { provide: WebhookQueue, useFactory: () => new WebhookQueue(connection) },
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
