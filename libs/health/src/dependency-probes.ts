import type { OnApplicationShutdown } from '@nestjs/common';
import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { PrismaClient } from '@chorus/db';
import { createRedis, type QueueConnection } from '@chorus/queue';
import type { ObjectStore } from '@chorus/storage';
import type { Redis } from 'ioredis';

/** A probe that has not answered by then counts as down: a hung dependency is not a ready one. */
export const PROBE_TIMEOUT_MS = 2000;

/**
 * Readiness checks of the farm's outside things, the same in the API and the worker: Postgres
 * answers a query, Redis answers PING, the S3 bucket answers HEAD. Each is bounded by
 * PROBE_TIMEOUT_MS. An app adds its own checks (the worker's model) through `probe`.
 */
export class DependencyProbes implements OnApplicationShutdown {
  /**
   * A connection of its own that fails commands at once while Redis is away; BullMQ's
   * connections queue them until Redis returns, so a PING on them would just wait.
   */
  private readonly redisConnection: Redis;

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly prisma: PrismaClient,
    private readonly objects: ObjectStore,
    connection: QueueConnection,
    connectionName: string,
  ) {
    this.redisConnection = createRedis(connection, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectionName });
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

  protected async probe(key: string, check: () => Promise<void>, details: () => Record<string, unknown> = () => ({})): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
    });
    try {
      await Promise.race([check(), timeout]);
      return indicator.up(details());
    } catch (error) {
      return indicator.down({ ...details(), message: error instanceof Error ? error.message : String(error) });
    } finally {
      clearTimeout(timer);
    }
  }
}
