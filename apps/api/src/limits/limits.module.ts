import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AudioSecondsQuota, createRedis, queueConnectionFromConfig } from '@chorus/queue';
import type { Redis } from 'ioredis';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { RequestRateInterceptor } from './request-rate.interceptor';
import { TenantLimitCounters } from './tenant-limit-counters';
import { TenantLimitsService } from './tenant-limits.service';

const LIMITS_REDIS = Symbol('chorus:limits-redis');

/** Per-tenant rate limits and quotas; the counters share the queue's Redis under its prefix. */
@Global()
@Module({
  providers: [
    {
      provide: LIMITS_REDIS,
      inject: [API_CONFIG],
      useFactory: (config: ApiConfig) => createRedis(queueConnectionFromConfig(config)),
    },
    {
      provide: TenantLimitCounters,
      inject: [LIMITS_REDIS, API_CONFIG],
      useFactory: (redis: Redis, config: ApiConfig) => new TenantLimitCounters(redis, config.BULLMQ_PREFIX),
    },
    {
      provide: AudioSecondsQuota,
      inject: [API_CONFIG],
      useFactory: (config: ApiConfig) => new AudioSecondsQuota(queueConnectionFromConfig(config)),
    },
    TenantLimitsService,
    { provide: APP_INTERCEPTOR, useClass: RequestRateInterceptor },
  ],
  exports: [TenantLimitsService],
})
export class LimitsModule implements OnApplicationShutdown {
  constructor(
    @Inject(LIMITS_REDIS) private readonly redis: Redis,
    private readonly audioSeconds: AudioSecondsQuota,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.redis.quit(), this.audioSeconds.close()]);
  }
}
