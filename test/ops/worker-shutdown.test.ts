/**
 * A worker given SIGTERM in the middle of a generation either finishes it (within
 * WORKER_SHUTDOWN_GRACE_MS) or hands it back to the queue, where another worker takes it; either
 * way the generation succeeds exactly once: one succeeded row, one object in S3, one counted
 * BullMQ attempt. API and workers are processes from dist/ on real Postgres, Redis and s3rver.
 */
import { GenerationQueue } from '@chorus/queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, type FarmProcess, type FarmProcesses, type FarmTenant, listObjectKeys, startFarmProcesses } from '@chorus/testing';
import { probeUrl } from './probe-port';

/** Long enough (a hundred U-Net passes) that SIGTERM lands while it samples. */
const LONG_REQUEST = { prompt: 'a slow evolving drone in d', seconds_total: 2, steps: 100, sampler: 'euler' as const, seed: 11 };

let farm: FarmProcesses;
let tenant: FarmTenant;

beforeEach(async () => {
  farm = await startFarmProcesses('ops_shutdown');
  await farm.startApi();
  tenant = await farm.createTenant('ops');
}, 120_000);

afterEach(async () => {
  await farm?.close();
});

/** Submits the long generation and resolves once `worker` is sampling it (progress > 0). */
async function generationRunningOn(worker: FarmProcess): Promise<string> {
  const { id } = await tenant.client.createGeneration(LONG_REQUEST);
  await eventually(
    'the generation to be sampling',
    async () => {
      const row = await farm.generations.findById(id);
      return row?.status === 'running' && row.workerId === worker.name && row.progress > 0;
    },
    60_000,
    100,
    farm.describe,
  );
  return id;
}

/** Exit code once the process is gone (null if a signal killed it). */
async function exitCode(process: FarmProcess): Promise<number | null> {
  await process.exited;
  return process.child.exitCode;
}

function queue(): GenerationQueue {
  return new GenerationQueue(farm.connection);
}

async function expectSucceededOnce(id: string, workerId: string): Promise<void> {
  const rows = await farm.db!.prisma.generation.findMany({ where: { tenantId: tenant.id } });
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ id, status: 'succeeded', workerId });
  expect(await listObjectKeys(farm.s3)).toEqual([rows[0].outputKey]);
  // A completed job counts the attempt that completed it; a hand-back counts none.
  const generations = queue();
  try {
    expect((await generations.getJob(id))!.attemptsMade).toBe(1);
  } finally {
    await generations.close();
  }
}

describe('a worker given SIGTERM mid-job', () => {
  it('finishes the job it holds within the grace period, then exits 0', async () => {
    const worker = await farm.startWorker('worker-a', { WORKER_SHUTDOWN_GRACE_MS: '120000' });
    const probe = await probeUrl(worker);
    const id = await generationRunningOn(worker);

    worker.kill('SIGTERM');
    // Draining: no longer ready (Kubernetes stops counting on it), still finishing the job.
    await eventually('readiness to turn false', async () => (await fetch(`${probe}/health/ready`)).status === 503, 5_000);
    expect(await exitCode(worker)).toBe(0);

    expect(worker.logs.map((line) => line.msg)).toEqual(expect.arrayContaining(['worker draining', 'generation succeeded', 'worker stopped']));
    await expectSucceededOnce(id, worker.name);
  }, 240_000);

  it('past WORKER_SHUTDOWN_GRACE_MS hands the job back, and another worker completes it', async () => {
    const first = await farm.startWorker('worker-a', { WORKER_SHUTDOWN_GRACE_MS: '200' });
    const id = await generationRunningOn(first);

    first.kill('SIGTERM');
    expect(await exitCode(first)).toBe(0);
    expect(first.logs.map((line) => line.msg)).toContain('worker shutting down; generation handed back to the queue');

    // Back in the queue and in Postgres as queued, with no attempt counted against it.
    const generations = queue();
    try {
      // `prioritized` when the job carries a priority (tenant fair share), `waiting` otherwise.
      expect(['waiting', 'prioritized']).toContain(await generations.queue.getJobState(id));
      expect((await generations.getJob(id))!.attemptsMade).toBe(0);
    } finally {
      await generations.close();
    }
    expect(await farm.generations.findById(id)).toMatchObject({ status: 'queued' });
    expect(await listObjectKeys(farm.s3)).toEqual([]);

    const second = await farm.startWorker('worker-b');
    await farm.waitForStatuses([id], ['succeeded'], 120_000);
    await expectSucceededOnce(id, second.name);
  }, 240_000);
});
