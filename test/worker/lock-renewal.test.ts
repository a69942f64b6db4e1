import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerFarm, type WorkerFarm } from './worker-under-test';

const LOCK_MS = 2_000;

// Short locks, checked for stalls every second, and no stall forgiven: had the worker's event loop
// stopped for a lock's length while sampling, the job would have failed as stalled.
let farm: WorkerFarm;
beforeAll(async () => {
  farm = await startWorkerFarm('locks');
  await farm.startWorker({
    WORKER_ID: 'worker-locks',
    WORKER_LOCK_DURATION_MS: String(LOCK_MS),
    WORKER_STALLED_INTERVAL_MS: '1000',
    WORKER_MAX_STALLED_COUNT: '0',
    WORKER_PROGRESS_INTERVAL_MS: '250',
    RECONCILE_INTERVAL_MS: '3600000',
  });
});
afterAll(() => farm?.close());

describe('a generation sampling for several lock durations', () => {
  it('keeps its job lock throughout, because sampling runs on the inference thread', { timeout: 240_000 }, async () => {
    const generation = await farm.submit({ steps: 150, sampler: 'euler', secondsTotal: 2 });
    const row = await farm.waitForStatus(generation.id, ['succeeded', 'failed'], 230_000);

    expect(row).toMatchObject({ status: 'succeeded', attempts: 1 });
    // Sampling outlasted a lock: without renewals during it, the stalled check would have taken the job.
    expect(row.inferenceMs).toBeGreaterThan(LOCK_MS);
    const job = (await farm.queue.getJob(generation.id))!;
    // The row is written just before the processor returns; BullMQ completes the job right after.
    await expect.poll(() => job.getState()).toBe('completed');
    expect((await farm.queue.getJob(generation.id))!.attemptsMade).toBe(1);
  });
});
