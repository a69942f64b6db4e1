/**
 * A worker given SIGTERM in the middle of a generation either finishes it (within
 * WORKER_SHUTDOWN_GRACE_MS) or hands it back to the queue, where another worker takes it; either
 * way the generation succeeds exactly once: one succeeded row, one object in S3, one counted
 * BullMQ attempt. API and workers are processes from dist/ on real Postgres, Redis and s3rver.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GenerationQueue } from '@chorus/queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ApiProcess, type FarmServices, startFarmServices, waitFor, type WorkerProcess } from './farm-processes';

/** Long enough (hundreds of U-Net passes) that SIGTERM lands while it samples. */
const LONG_REQUEST = { prompt: 'a slow evolving drone in d', seconds_total: 2, steps: 100, sampler: 'euler' as const, seed: 11 };

let farm: FarmServices;
let api: ApiProcess;

beforeEach(async () => {
  farm = await startFarmServices('ops-shutdown');
  api = await farm.startApi();
}, 120_000);

afterEach(async () => {
  await farm?.close();
});

/** Submits the long generation and resolves once `worker` is sampling it (progress > 0). */
async function generationRunningOn(worker: WorkerProcess): Promise<string> {
  const client = farm.client(api);
  const { id } = await client.createGeneration(LONG_REQUEST);
  await waitFor(worker, 'the generation to be sampling', async () => {
    const generation = await client.getGeneration(id);
    return generation.status === 'running' && generation.progress > 0;
  }, 60_000);
  return id;
}

async function objectsInBucket(): Promise<string[]> {
  const listed = await farm.s3.store.client.send(new ListObjectsV2Command({ Bucket: farm.s3.bucket, Prefix: 'generations/' }));
  return (listed.Contents ?? []).map((object) => object.Key!);
}

/** The BullMQ job's counted attempts (a completed job counts the attempt that completed it). */
async function attemptsMade(id: string): Promise<number> {
  const queue = new GenerationQueue({ redisUrl: farm.env.REDIS_URL!, prefix: farm.env.BULLMQ_PREFIX! });
  try {
    const job = await queue.getJob(id);
    return job!.attemptsMade;
  } finally {
    await queue.close();
  }
}

async function expectSucceededOnce(id: string, workerId: string): Promise<void> {
  const rows = await farm.db.prisma.generation.findMany({ where: { tenantId: farm.tenantId } });
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ id, status: 'succeeded', workerId });
  expect(await objectsInBucket()).toEqual([rows[0].outputKey]);
  expect(await attemptsMade(id)).toBe(1);
}

describe('a worker given SIGTERM mid-job', () => {
  it('finishes the job it holds within the grace period, then exits 0', async () => {
    const worker = await farm.startWorker('worker-a', { WORKER_SHUTDOWN_GRACE_MS: '120000' });
    const id = await generationRunningOn(worker);

    worker.signal('SIGTERM');
    // Draining: no longer ready (Kubernetes stops counting on it), still finishing the job.
    await waitFor(worker, 'readiness to turn false', async () => (await fetch(`${worker.probeUrl}/health/ready`)).status === 503, 5_000);
    expect(await worker.exited).toBe(0);

    expect(worker.logs().map((line) => line.msg)).toEqual(expect.arrayContaining(['worker draining', 'generation succeeded', 'worker stopped']));
    await expectSucceededOnce(id, worker.workerId);
  }, 240_000);

  it('past WORKER_SHUTDOWN_GRACE_MS hands the job back, and another worker completes it', async () => {
    const first = await farm.startWorker('worker-a', { WORKER_SHUTDOWN_GRACE_MS: '200' });
    const id = await generationRunningOn(first);

    first.signal('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.logs().map((line) => line.msg)).toContain('worker shutting down; generation handed back to the queue');

    // Back in the queue and in Postgres as queued, with no attempt counted against it.
    const queue = new GenerationQueue({ redisUrl: farm.env.REDIS_URL!, prefix: farm.env.BULLMQ_PREFIX! });
    try {
      // `prioritized` when the job carries a priority (tenant fair share), `waiting` otherwise.
      expect(['waiting', 'prioritized']).toContain(await queue.queue.getJobState(id));
      expect((await queue.getJob(id))!.attemptsMade).toBe(0);
    } finally {
      await queue.close();
    }
    expect(await farm.db.prisma.generation.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'queued' });
    expect(await objectsInBucket()).toEqual([]);

    const second = await farm.startWorker('worker-b');
    await waitFor(second, 'the generation to succeed on the second worker', async () => {
      return (await farm.client(api).getGeneration(id)).status === 'succeeded';
    }, 120_000);
    await expectSucceededOnce(id, second.workerId);
  }, 240_000);
});
