import { Inject, Injectable } from '@nestjs/common';
import { Prisma } from './generated/client';
import type { PrismaClient } from './prisma-client';
import { PRISMA } from './tokens';

export interface WorkerRow {
  id: string;
  host: string;
  device: string;
  model: string;
  currentGenerationId: string | null;
  lastHeartbeatAt: Date;
  live: boolean;
}

/** Finished generations in one bucket (`bucket` null: the whole window). */
export interface FinishedRow {
  bucket: number | null;
  succeeded: number;
  failed: number;
  canceled: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

/**
 * The read side of the farm for `GET /v1/stats`: aggregate queries over generations and workers,
 * farm-wide or, given a tenant id, over that tenant's generations only. Times come from the
 * database clock, the one heartbeats are written with.
 */
@Injectable()
export class FarmStatsRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** The database's current time. */
  async now(): Promise<Date> {
    const [row] = await this.prisma.$queryRaw<Array<{ now: Date }>>`SELECT now() AS "now"`;
    return row!.now;
  }

  /** Generations not yet finished, by status (served by the (status, queued_at) index). */
  async unfinishedCounts(tenantId?: string): Promise<{ queued: number; running: number }> {
    const rows = await this.prisma.$queryRaw<Array<{ status: string; count: number }>>`
      SELECT "status"::text AS "status", count(*)::int AS "count"
        FROM "generations"
       WHERE "status" IN ('queued', 'running')${ofTenant(tenantId)}
       GROUP BY "status"`;
    const count = (status: string) => rows.find((row) => row.status === status)?.count ?? 0;
    return { queued: count('queued'), running: count('running') };
  }

  /** Workers that beat since `since`, live ones (beat within `liveWithinMs`) first. */
  async workersSeenSince(since: Date, liveWithinMs: number): Promise<WorkerRow[]> {
    return this.prisma.$queryRaw<WorkerRow[]>`
      SELECT "id", "host", "device", "model",
             "current_generation_id"::text AS "currentGenerationId",
             "last_heartbeat_at" AS "lastHeartbeatAt",
             ("last_heartbeat_at" >= now() - make_interval(secs => ${liveWithinMs / 1000})) AS "live"
        FROM "workers"
       WHERE "last_heartbeat_at" >= ${since}
       ORDER BY "live" DESC, "id"`;
  }

  /**
   * Generations that finished in [from, to), counted by status per bucket of `bucketSeconds`,
   * with p50/p95 of submit-to-finish time over the succeeded ones; plus one row (bucket null)
   * for the whole window. Empty buckets are absent. Served by the finished_at index.
   */
  async finishedBetween(from: Date, to: Date, bucketSeconds: number, tenantId?: string): Promise<FinishedRow[]> {
    return this.prisma.$queryRaw<FinishedRow[]>`
      WITH finished AS (
        SELECT "status",
               floor(extract(epoch FROM ("finished_at" - ${from}::timestamptz)) / ${bucketSeconds})::int AS "bucket",
               (extract(epoch FROM ("finished_at" - "created_at")) * 1000)::float8 AS "ms"
          FROM "generations"
         WHERE "finished_at" >= ${from} AND "finished_at" < ${to}
           AND "status" IN ('succeeded', 'failed', 'canceled')${ofTenant(tenantId)}
      )
      SELECT "bucket",
             count(*) FILTER (WHERE "status" = 'succeeded')::int AS "succeeded",
             count(*) FILTER (WHERE "status" = 'failed')::int AS "failed",
             count(*) FILTER (WHERE "status" = 'canceled')::int AS "canceled",
             (percentile_cont(0.5) WITHIN GROUP (ORDER BY "ms") FILTER (WHERE "status" = 'succeeded'))::float8 AS "p50Ms",
             (percentile_cont(0.95) WITHIN GROUP (ORDER BY "ms") FILTER (WHERE "status" = 'succeeded'))::float8 AS "p95Ms"
        FROM finished
       GROUP BY GROUPING SETS (("bucket"), ())`;
  }
}

/** Narrows a generations query to one tenant; nothing for the farm-wide one. */
function ofTenant(tenantId: string | undefined): Prisma.Sql {
  return tenantId === undefined ? Prisma.empty : Prisma.sql` AND "tenant_id" = ${tenantId}::uuid`;
}
