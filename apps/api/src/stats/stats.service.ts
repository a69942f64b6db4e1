import { Injectable } from '@nestjs/common';
import type { FarmStats, QueueDepth, StatsTotals } from '@chorus/contracts';
import { FarmStatsRepository, type FinishedRow } from '@chorus/db';
import { GenerationQueue } from '@chorus/queue';

/** The chart window: the last hour, in one-minute buckets ending with the current minute. */
export const STATS_WINDOW_SECONDS = 3600;
export const STATS_BUCKET_SECONDS = 60;
/**
 * A worker whose last heartbeat is older than this is shown as silent. Workers beat every 5 s
 * by default (WORKER_HEARTBEAT_MS); the slack keeps a briefly stalled worker "live".
 */
export const WORKER_LIVE_WITHIN_MS = 30_000;

/** What the stats are about: every tenant's work (an operator asking) or one tenant's. */
export type StatsSubject = { scope: 'farm' } | { scope: 'tenant'; tenantId: string };

/**
 * Assembles the Farm view: BullMQ's queue, Postgres's record of workers and finished work. A
 * tenant's view holds its own generations only: the queue and the workers carry every tenant's
 * work (a worker's current generation id among it), so they are an operator's to see.
 */
@Injectable()
export class StatsService {
  constructor(
    private readonly repository: FarmStatsRepository,
    private readonly queue: GenerationQueue,
  ) {}

  async farmStats(subject: StatsSubject): Promise<FarmStats> {
    const tenantId = subject.scope === 'tenant' ? subject.tenantId : undefined;
    const now = await this.repository.now();
    // Buckets end at the next minute boundary, so they line up with the clock and the last one
    // is the minute in progress.
    const to = new Date(Math.floor(now.getTime() / (STATS_BUCKET_SECONDS * 1000)) * STATS_BUCKET_SECONDS * 1000 + STATS_BUCKET_SECONDS * 1000);
    const from = new Date(to.getTime() - STATS_WINDOW_SECONDS * 1000);
    const farm = subject.scope === 'farm';
    const [queue, generations, workers, finished] = await Promise.all([
      farm ? this.queueDepth() : null,
      this.repository.unfinishedCounts(tenantId),
      farm ? this.repository.workersSeenSince(from, WORKER_LIVE_WITHIN_MS) : null,
      this.repository.finishedBetween(from, to, STATS_BUCKET_SECONDS, tenantId),
    ]);

    const byBucket = new Map(finished.filter((row) => row.bucket !== null).map((row) => [row.bucket!, row]));
    const bucketCount = STATS_WINDOW_SECONDS / STATS_BUCKET_SECONDS;
    const buckets = Array.from({ length: bucketCount }, (_, index) => ({
      start: new Date(from.getTime() + index * STATS_BUCKET_SECONDS * 1000).toISOString(),
      ...totals(byBucket.get(index)),
    }));

    return {
      scope: subject.scope,
      generated_at: now.toISOString(),
      queue,
      generations,
      workers: workers?.map((worker) => ({
        id: worker.id,
        host: worker.host,
        device: worker.device,
        model: worker.model,
        current_generation_id: worker.currentGenerationId,
        last_heartbeat_at: worker.lastHeartbeatAt.toISOString(),
        live: worker.live,
      })) ?? null,
      window: { from: from.toISOString(), to: to.toISOString(), bucket_seconds: STATS_BUCKET_SECONDS },
      buckets,
      last_hour: totals(finished.find((row) => row.bucket === null)),
    };
  }

  private async queueDepth(): Promise<QueueDepth> {
    const counts = await this.queue.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed');
    return {
      waiting: counts.waiting ?? 0,
      prioritized: counts.prioritized ?? 0,
      delayed: counts.delayed ?? 0,
      active: counts.active ?? 0,
      failed: counts.failed ?? 0,
    };
  }
}

function totals(row: FinishedRow | undefined): StatsTotals {
  return {
    succeeded: row?.succeeded ?? 0,
    failed: row?.failed ?? 0,
    canceled: row?.canceled ?? 0,
    p50_ms: roundMs(row?.p50Ms),
    p95_ms: roundMs(row?.p95Ms),
  };
}

const roundMs = (ms: number | null | undefined) => (ms == null ? null : Math.round(ms));
