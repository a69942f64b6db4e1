import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { type Generation, GenerationRepository, TenantRepository } from '@chorus/db';
import { createRedis, GenerationQueue, GenerationScheduler, laneOf, prefixedKey, type QueueConnection, type SchedulingTenant } from '@chorus/queue';
import { LOGGER, type Logger } from './logger';
import { QUEUE_CONNECTION } from './tokens';
import { WORKER_CONFIG, type WorkerConfig } from './worker-config';

/**
 * Postgres is the truth, Redis can be rebuilt: every interval one worker of the farm (whoever takes
 * the Redis lock) re-adds the jobs of generations that Postgres says are queued but Redis no longer
 * holds (Redis restarted without persistence, a job was deleted by hand, an add failed after the
 * insert). Re-added jobs get their fair-share priority as a fresh submit would (their tenant's
 * interactive or batch lane), so a tenant's lost backlog does not run ahead of everyone else's
 * work. Running rows whose job Redis lost go back to queued and are re-added too.
 */
@Injectable()
export class Reconciler {
  private timer?: NodeJS.Timeout;
  private redis?: Redis;
  private running?: Promise<number>;

  constructor(
    private readonly generations: GenerationRepository,
    private readonly tenants: TenantRepository,
    private readonly queue: GenerationQueue,
    private readonly scheduler: GenerationScheduler,
    @Inject(QUEUE_CONNECTION) private readonly connection: QueueConnection,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.config.RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => 0);
    await this.redis?.quit();
    this.redis = undefined;
  }

  /** One pass if this worker wins the farm-wide lock for this interval. Returns the jobs re-added. */
  async tick(): Promise<number> {
    if (this.running) return 0;
    this.running = (async () => {
      try {
        if (!(await this.takeLock())) return 0;
        return await this.reconcile();
      } catch (error) {
        this.logger.warn({ err: error }, 'reconciliation failed');
        return 0;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Re-adds the missing jobs; no lock (tests, tools). */
  async reconcile(): Promise<number> {
    const lostWhileQueued: Generation[] = [];
    for (const row of await this.generations.findQueuedOlderThan(this.config.RECONCILE_MIN_AGE_MS)) {
      const job = await this.queue.getJob(row.id);
      if (job) {
        const state = await job.getState();
        // A job Redis finished while the row says queued: its outcome never reached Postgres.
        if (state !== 'completed' && state !== 'failed') continue;
        await job.remove();
      }
      lostWhileQueued.push(row);
    }
    // A running row whose job Redis lost: its worker's lock renewals fail and it abandons the
    // generation, so nothing would ever end it. Back to queued, and queued again.
    const lostWhileRunning: Generation[] = [];
    for (const row of await this.generations.findRunningStartedBefore(this.config.RECONCILE_MIN_AGE_MS)) {
      if (await this.queue.getJob(row.id)) continue;
      const requeued = await this.generations.markRetrying(row.id, 'its job was lost from Redis; re-queued');
      if (requeued) lostWhileRunning.push(requeued);
    }
    await this.requeue([...lostWhileQueued, ...lostWhileRunning]);
    for (const row of lostWhileQueued) {
      this.logger.warn({ generation_id: row.id, tenant_id: row.tenantId }, 'generation was queued in Postgres but not in Redis; re-queued');
    }
    for (const row of lostWhileRunning) {
      this.logger.warn({ generation_id: row.id, tenant_id: row.tenantId }, 'generation was running in Postgres but its job is gone from Redis; re-queued');
    }
    return lostWhileQueued.length + lostWhileRunning.length;
  }

  /** Through the fair share, one tenant's lane at a time, oldest first within it (the order of `rows`). */
  private async requeue(rows: readonly Generation[]): Promise<void> {
    const flows = new Map<string, Generation[]>();
    for (const row of rows) {
      const key = `${row.tenantId}:${laneOf(row)}`;
      if (!flows.has(key)) flows.set(key, []);
      flows.get(key)!.push(row);
    }
    const tenants = new Map<string, SchedulingTenant>();
    for (const flow of flows.values()) {
      const { tenantId } = flow[0];
      let tenant = tenants.get(tenantId);
      if (!tenant) {
        // generations.tenant_id references tenants (ON DELETE RESTRICT): the tenant exists.
        tenant = (await this.tenants.findById(tenantId))!;
        tenants.set(tenantId, tenant);
      }
      await this.scheduler.enqueue(tenant, laneOf(flow[0]), flow);
    }
  }

  /** One holder per interval: the lock expires on its own, so a dead holder blocks nobody for long. */
  private async takeLock(): Promise<boolean> {
    this.redis ??= createRedis(this.connection);
    const key = prefixedKey(this.connection, QUEUE_LOCK_NAME);
    // A little under the interval, so the holder's own next tick is not locked out by timer jitter.
    const ttl = Math.max(1, Math.floor(this.config.RECONCILE_INTERVAL_MS * 0.8));
    const taken = await this.redis.set(key, this.config.WORKER_ID, 'PX', ttl, 'NX');
    return taken === 'OK';
  }
}

const QUEUE_LOCK_NAME = 'generations:reconciler-lock';
