import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { BatchRepository } from '@chorus/db';
import { queueConnectionFromConfig } from '@chorus/queue';
import { OutcomeNotifier, WebhookQueue } from '@chorus/webhooks';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { WebhookUrlPolicy } from './webhook-url-policy';

/** The API's side of webhooks: checking URLs when given, and announcing what ends in the API (cancels). */
@Global()
@Module({
  providers: [
    {
      provide: WebhookQueue,
      inject: [API_CONFIG],
      useFactory: (config: ApiConfig) => new WebhookQueue(queueConnectionFromConfig(config)),
    },
    {
      provide: OutcomeNotifier,
      inject: [WebhookQueue, BatchRepository],
      useFactory: (queue: WebhookQueue, batches: BatchRepository) => new OutcomeNotifier(queue, batches),
    },
    WebhookUrlPolicy,
  ],
  exports: [OutcomeNotifier, WebhookUrlPolicy],
})
export class WebhooksModule implements OnApplicationShutdown {
  constructor(@Inject(WebhookQueue) private readonly queue: WebhookQueue) {}

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
  }
}
