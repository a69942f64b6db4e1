import { DynamicModule, Global, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DatabaseModule, TenantRepository } from '@chorus/db';
import {
  CancelBroadcast,
  GenerationEventPublisher,
  GenerationEventSubscriber,
  GenerationQueue,
  queueConnectionFromConfig,
} from '@chorus/queue';
import { ObjectStore, objectStoreFromConfig } from '@chorus/storage';
import { ApiKeyResolver } from '../auth/authenticated-tenant';
import { TenantApiKeyResolver } from '../auth/tenant-api-key.resolver';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { loadServedModel } from '../models/load-served-model';
import { ModelCatalog } from '../models/served-model';

/**
 * The outside things the API talks to (Postgres, Redis/BullMQ, S3, the model manifest), built
 * once from the configuration and closed on shutdown. Global, so feature modules just inject them.
 */
@Global()
@Module({})
export class InfrastructureModule implements OnApplicationShutdown {
  constructor(
    private readonly queue: GenerationQueue,
    private readonly cancels: CancelBroadcast,
    private readonly publisher: GenerationEventPublisher,
    private readonly subscriber: GenerationEventSubscriber,
    private readonly store: ObjectStore,
  ) {}

  static forRoot(config: ApiConfig): DynamicModule {
    const connection = queueConnectionFromConfig(config);
    return {
      module: InfrastructureModule,
      imports: [DatabaseModule.forRoot({ databaseUrl: config.DATABASE_URL })],
      providers: [
        { provide: API_CONFIG, useValue: config },
        {
          provide: GenerationQueue,
          useFactory: () => {
            const queue = new GenerationQueue(connection);
            // BullMQ reconnects by itself; without a listener each failed attempt is printed raw to stderr.
            const logger = new Logger('GenerationQueue');
            queue.queue.on('error', (error) => logger.warn(`Redis connection: ${error.message}`));
            return queue;
          },
        },
        { provide: CancelBroadcast, useFactory: () => new CancelBroadcast(connection) },
        { provide: GenerationEventPublisher, useFactory: () => new GenerationEventPublisher(connection) },
        { provide: GenerationEventSubscriber, useFactory: () => new GenerationEventSubscriber(connection) },
        {
          provide: ObjectStore,
          useFactory: () => objectStoreFromConfig(config, { presignExpiresSeconds: config.AUDIO_URL_TTL_SECONDS }),
        },
        { provide: ModelCatalog, useFactory: async () => new ModelCatalog(await loadServedModel(config.MODEL_DIR)) },
        {
          provide: ApiKeyResolver,
          inject: [TenantRepository],
          useFactory: (tenants: TenantRepository) => new TenantApiKeyResolver(tenants, { ttlMs: config.API_KEY_CACHE_TTL_MS }),
        },
      ],
      exports: [
        API_CONFIG,
        GenerationQueue,
        CancelBroadcast,
        GenerationEventPublisher,
        GenerationEventSubscriber,
        ObjectStore,
        ModelCatalog,
        ApiKeyResolver,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.subscriber.close(), this.publisher.close(), this.cancels.close(), this.queue.close()]);
    this.store.close();
  }
}
