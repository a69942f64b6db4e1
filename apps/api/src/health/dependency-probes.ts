import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { PRISMA, type PrismaClient } from '@chorus/db';
import { createRedis } from '@chorus/queue';
import type { Redis } from 'ioredis';
import { ObjectStore } from '@chorus/storage';
import { API_CONFIG, type ApiConfig } from '../config/api-config';

/** A probe that has not answered by then counts as down: a hung dependency is not a ready one. */
export const PROBE_TIMEOUT_MS = 2000;

/**
 * Readiness checks of the API's outside things: Postgres answers a query, Redis answers PING,
 * the S3 bucket answers HEAD. Each is bounded by PROBE_TIMEOUT_MS.
 */
@Injectable()
export class DependencyProbes implements OnApplicationShutdown {
  /**
   * A connection of its own that fails commands at once while Redis is away; BullMQ's
   * connections queue them until Redis returns, so a PING on them would just wait.
   */
  private readonly redisConnection: Redis;

  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly objects: ObjectStore,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.redisConnection = createRedis(
      { redisUrl: config.REDIS_URL, prefix: config.BULLMQ_PREFIX },
      { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectionName: 'chorus-api-health' },
    );
    // Connection errors surface as a down probe; without a listener ioredis would log each one.
    this.redisConnection.on('error', () => undefined);
  }

  onApplicationShutdown(): void {
    this.redisConnection.disconnect();
  }

  postgres(): Promise<HealthIndicatorResult> {
    return this.probe('postgres', async () => {
      await this.prisma.$queryRaw`SELECT 1`;
    });
  }

  redis(): Promise<HealthIndicatorResult> {
    return this.probe('redis', async () => {
      if (this.redisConnection.status === 'wait') await this.redisConnection.connect();
      await this.redisConnection.ping();
    });
  }

  s3(): Promise<HealthIndicatorResult> {
    return this.probe('s3', () => this.objects.checkBucket());
  }

  private async probe(key: string, check: () => Promise<void>): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
    });
    try {
      await Promise.race([check(), timeout]);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    } finally {
      clearTimeout(timer);
    }
  }
}
