import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { PRISMA, type PrismaClient } from '@chorus/db';
import { createRedis } from '@chorus/queue';
import { ObjectStore } from '@chorus/storage';
import type { Redis } from 'ioredis';
import { WORKER_CONFIG, type WorkerConfig } from '../worker-config';
import { WorkerState } from '../worker-state';

/** A probe that has not answered by then counts as down: a hung dependency is not a ready one. */
export const PROBE_TIMEOUT_MS = 2000;

/**
 * Readiness checks of a worker: its model is loaded and it is taking jobs, and Postgres, Redis and
 * the S3 bucket answer. Each is bounded by PROBE_TIMEOUT_MS.
 */
@Injectable()
export class WorkerProbes implements OnApplicationShutdown {
  /**
   * A connection of its own that fails commands at once while Redis is away; BullMQ's
   * connections queue them until Redis returns, so a PING on them would just wait.
   */
  private readonly redisConnection: Redis;

  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly objects: ObjectStore,
    private readonly state: WorkerState,
    @Inject(WORKER_CONFIG) config: WorkerConfig,
  ) {
    this.redisConnection = createRedis(
      { redisUrl: config.REDIS_URL, prefix: config.BULLMQ_PREFIX },
      { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectionName: 'chorus-worker-health' },
    );
    // Connection errors surface as a down probe; without a listener ioredis would log each one.
    this.redisConnection.on('error', () => undefined);
  }

  onApplicationShutdown(): void {
    this.redisConnection.disconnect();
  }

  model(): Promise<HealthIndicatorResult> {
    return this.probe('model', async () => {
      if (this.state.phase === 'starting' || !this.state.model) throw new Error('the model is loading');
      if (this.state.phase !== 'ready') throw new Error(`the worker is ${this.state.phase}`);
    }, () => ({ model: this.state.modelLabel, provider: this.state.executionProvider }));
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

  private async probe(key: string, check: () => Promise<void>, details: () => Record<string, unknown> = () => ({})): Promise<HealthIndicatorResult> {
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
