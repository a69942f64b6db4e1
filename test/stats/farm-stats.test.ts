/**
 * `GET /v1/stats`'s numbers, from real Postgres and Redis: what is queued and running, which
 * workers are live, and the last hour of finished work in one-minute buckets with p50/p95.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FarmStatsRepository } from '@chorus/db';
import { GenerationQueue } from '@chorus/queue';
import { STATS_BUCKET_SECONDS, StatsService, WORKER_LIVE_WITHIN_MS } from '../../apps/api/src/stats/stats.service';
import { useTestDatabase } from '../support/database';
import { useTestQueueConnection } from '../support/redis';

const db = useTestDatabase('stats');
const connection = useTestQueueConnection('stats');
let queue: GenerationQueue;
let stats: StatsService;
let tenants: string[];
/** What an operator's key sees. */
const FARM = { scope: 'farm' } as const;

beforeAll(async () => {
  queue = new GenerationQueue(connection);
  stats = new StatsService(new FarmStatsRepository(db.prisma), queue);
  tenants = await Promise.all(['stats-a', 'stats-b'].map(async (name) => (await db.prisma.tenant.create({ data: { name } })).id));
});

afterAll(async () => {
  await queue?.close();
});

beforeEach(async () => {
  await db.prisma.generation.deleteMany();
  await db.prisma.worker.deleteMany();
  await queue.queue.obliterate({ force: true });
});

async function databaseNow(): Promise<number> {
  const [row] = await db.prisma.$queryRaw<Array<{ now: Date }>>`SELECT now() AS "now"`;
  return row!.now.getTime();
}

interface Row {
  tenant?: number;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
  createdAt?: number;
  finishedAt?: number;
}

async function insertGenerations(rows: Row[]): Promise<void> {
  await db.prisma.generation.createMany({
    data: rows.map((row) => ({
      tenantId: tenants[row.tenant ?? 0]!,
      prompt: 'a test tone',
      secondsStart: 0,
      secondsTotal: 3,
      steps: 8,
      cfgScale: 6,
      sampler: 'euler',
      seed: 1n,
      outputFormat: 'wav',
      priority: 5,
      status: row.status,
      createdAt: row.createdAt !== undefined ? new Date(row.createdAt) : undefined,
      finishedAt: row.finishedAt !== undefined ? new Date(row.finishedAt) : undefined,
    })),
  });
}

/** Postgres's percentile_cont: linear interpolation between the closest ranks. */
function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = fraction * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

describe('farm stats', () => {
  it('counts queued and running generations across all tenants', async () => {
    await insertGenerations([
      { status: 'queued', tenant: 0 },
      { status: 'queued', tenant: 1 },
      { status: 'queued', tenant: 1 },
      { status: 'running', tenant: 0 },
      { status: 'succeeded', tenant: 0, finishedAt: await databaseNow() },
    ]);
    const result = await stats.farmStats(FARM);
    expect(result.generations).toEqual({ queued: 3, running: 1 });
  });

  it('reports BullMQ job counts by state', async () => {
    await queue.add({ generationId: randomUUID(), tenantId: tenants[0]! });
    await queue.add({ generationId: randomUUID(), tenantId: tenants[0]! });
    await queue.add({ generationId: randomUUID(), tenantId: tenants[0]! }, { priority: 3 });
    await queue.queue.add('generate', { generationId: randomUUID(), tenantId: tenants[0]! }, { delay: 60_000 });
    const result = await stats.farmStats(FARM);
    expect(result.queue).toEqual({ waiting: 2, prioritized: 1, delayed: 1, active: 0, failed: 0 });
  });

  it('counts finished generations per minute and takes p50/p95 of submit-to-finish over the succeeded ones', async () => {
    const now = await databaseNow();
    const bucketMs = STATS_BUCKET_SECONDS * 1000;
    // Well inside the minute that started five minutes before the current one.
    const finishedAt = Math.floor(now / bucketMs) * bucketMs - 5 * bucketMs + bucketMs / 2;
    const durations = [1200, 800, 3000, 2500, 9000, 1500, 700];
    await insertGenerations([
      ...durations.map((ms) => ({ status: 'succeeded' as const, createdAt: finishedAt - ms, finishedAt })),
      // Failures and cancellations count, but their durations would skew the percentiles.
      { status: 'failed', createdAt: finishedAt - 60_000, finishedAt },
      { status: 'canceled', createdAt: finishedAt - 120_000, finishedAt },
    ]);

    const result = await stats.farmStats(FARM);
    const bucket = result.buckets.find((candidate) => Date.parse(candidate.start) === finishedAt - bucketMs / 2);
    expect(bucket).toEqual({
      start: new Date(finishedAt - bucketMs / 2).toISOString(),
      succeeded: durations.length,
      failed: 1,
      canceled: 1,
      p50_ms: Math.round(percentile(durations, 0.5)),
      p95_ms: Math.round(percentile(durations, 0.95)),
    });
    const others = result.buckets.filter((candidate) => candidate !== bucket);
    expect(others.every((candidate) => candidate.succeeded + candidate.failed + candidate.canceled === 0 && candidate.p50_ms === null)).toBe(true);
  });

  it('covers the last hour in one-minute buckets, oldest first, ending with the minute in progress', async () => {
    const now = await databaseNow();
    const result = await stats.farmStats(FARM);
    expect(result.window.bucket_seconds).toBe(60);
    expect(result.buckets).toHaveLength(60);
    const starts = result.buckets.map((bucket) => Date.parse(bucket.start));
    starts.slice(1).forEach((start, index) => expect(start - starts[index]!).toBe(60_000));
    expect(starts[0]).toBe(Date.parse(result.window.from));
    expect(Date.parse(result.window.to) - starts[59]!).toBe(60_000);
    expect(starts[59]! <= now && now < Date.parse(result.window.to)).toBe(true);
  });

  it('sums the hour, leaving out what finished before it', async () => {
    const now = await databaseNow();
    await insertGenerations([
      { status: 'succeeded', createdAt: now - 4000, finishedAt: now - 1000 },
      { status: 'succeeded', createdAt: now - 30 * 60_000 - 2000, finishedAt: now - 30 * 60_000 },
      { status: 'failed', createdAt: now - 10 * 60_000, finishedAt: now - 9 * 60_000 },
      { status: 'succeeded', createdAt: now - 3 * 3600_000, finishedAt: now - 2 * 3600_000 },
    ]);
    const result = await stats.farmStats(FARM);
    expect(result.last_hour).toEqual({
      succeeded: 2,
      failed: 1,
      canceled: 0,
      p50_ms: Math.round(percentile([3000, 2000], 0.5)),
      p95_ms: Math.round(percentile([3000, 2000], 0.95)),
    });
    const bucketTotal = result.buckets.reduce((sum, bucket) => sum + bucket.succeeded, 0);
    expect(bucketTotal).toBe(2);
  });

  it('lists workers seen in the last hour, live ones first, with device, model and current job', async () => {
    const running = randomUUID();
    await db.prisma.$executeRaw`
      INSERT INTO "workers" ("id", "host", "device", "model", "current_generation_id", "last_heartbeat_at") VALUES
        ('worker-busy', 'gpu-box-1', 'cuda', 'chorus-tiny@0.1.0', ${running}::uuid, now() - interval '2 seconds'),
        ('worker-idle', 'cpu-box-1', 'cpu', 'chorus-tiny@0.1.0', NULL, now() - interval '5 seconds'),
        ('worker-silent', 'cpu-box-2', 'cpu', 'chorus-tiny@0.1.0', NULL, now() - make_interval(secs => ${WORKER_LIVE_WITHIN_MS / 1000 + 60})),
        ('worker-gone', 'cpu-box-3', 'cpu', 'chorus-tiny@0.1.0', NULL, now() - interval '2 hours')`;

    const result = await stats.farmStats(FARM);
    const workers = result.workers!;
    expect(workers.map((worker) => [worker.id, worker.live])).toEqual([
      ['worker-busy', true],
      ['worker-idle', true],
      ['worker-silent', false],
    ]);
    expect(workers[0]).toMatchObject({ host: 'gpu-box-1', device: 'cuda', model: 'chorus-tiny@0.1.0', current_generation_id: running });
    expect(workers[1]!.current_generation_id).toBeNull();
    const beat = Date.parse(workers[0]!.last_heartbeat_at);
    expect(Date.parse(result.generated_at) - beat).toBeGreaterThanOrEqual(2000);
    expect(Date.parse(result.generated_at) - beat).toBeLessThan(3000);
  });

  it("gives a tenant its own generations only, without the shared queue and the workers", async () => {
    const now = await databaseNow();
    await insertGenerations([
      { status: 'queued', tenant: 0 },
      { status: 'queued', tenant: 1 },
      { status: 'running', tenant: 1 },
      { status: 'succeeded', tenant: 0, createdAt: now - 3000, finishedAt: now - 1000 },
      { status: 'succeeded', tenant: 1, createdAt: now - 9000, finishedAt: now - 1000 },
      { status: 'failed', tenant: 1, createdAt: now - 5000, finishedAt: now - 2000 },
    ]);
    await queue.add({ generationId: randomUUID(), tenantId: tenants[1]! });
    await db.prisma.$executeRaw`
      INSERT INTO "workers" ("id", "host", "device", "model", "current_generation_id", "last_heartbeat_at")
      VALUES ('worker-busy', 'gpu-box-1', 'cuda', 'chorus-tiny@0.1.0', ${randomUUID()}::uuid, now())`;

    const result = await stats.farmStats({ scope: 'tenant', tenantId: tenants[0]! });

    expect(result).toMatchObject({ scope: 'tenant', queue: null, workers: null, generations: { queued: 1, running: 0 } });
    expect(result.last_hour).toEqual({ succeeded: 1, failed: 0, canceled: 0, p50_ms: 2000, p95_ms: 2000 });
    expect(result.buckets.reduce((sum, bucket) => sum + bucket.succeeded + bucket.failed, 0)).toBe(1);
    expect((await stats.farmStats(FARM)).generations).toEqual({ queued: 2, running: 1 });
  });
});
