import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { createRedis, FairShare, GenerationQueue, GenerationScheduler, queueConnectionFromConfig } from '@chorus/queue';
import type { Redis } from 'ioredis';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { ModelCatalog } from '../models/served-model';

const SCHEDULING_REDIS = Symbol('chorus:scheduling-redis');

@Global()
@Module({
  providers: [
    {
      provide: SCHEDULING_REDIS,
      inject: [API_CONFIG],
      useFactory: (config: ApiConfig) => createRedis(queueConnectionFromConfig(config)),
    },
    {
      provide: FairShare,
      inject: [SCHEDULING_REDIS, GenerationQueue],
      useFactory: (redis: Redis, queue: GenerationQueue) => new FairShare(redis, queue.queue),
    },
    {
      // A job's cost is counted in the served model's default steps.
      provide: GenerationScheduler,
      inject: [GenerationQueue, FairShare, ModelCatalog],
      useFactory: (queue: GenerationQueue, fairShare: FairShare, catalog: ModelCatalog) => new GenerationScheduler(queue, fairShare, catalog.model.defaults.steps),
    },
  ],
  exports: [GenerationScheduler],
})
export class SchedulingModule implements OnApplicationShutdown {
  constructor(@Inject(SCHEDULING_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit();
  }
}
