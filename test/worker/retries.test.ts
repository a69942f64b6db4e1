import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATION_ATTEMPTS, type GenerationEvent } from '@chorus/queue';
import { startWorkerFarm, type WorkerFarm } from './worker-under-test';

// The worker uploads to a bucket that does not exist, so every attempt fails after sampling.
let farm: WorkerFarm;
beforeAll(async () => {
  farm = await startWorkerFarm('retries');
  await farm.startWorker({ WORKER_ID: 'worker-retries', S3_BUCKET: 'no-such-bucket', RECONCILE_INTERVAL_MS: '3600000' });
});
afterAll(() => farm?.close());

describe('a generation whose attempts fail', () => {
  it('goes back to queued with its error after each attempt but the last, then fails; nothing is marked succeeded', async () => {
    const generation = await farm.submit({ steps: 2, secondsTotal: 1 }, { enqueue: false });
    const statuses: GenerationEvent['status'][] = [];
    await farm.events.subscribe(generation.id, (event) => {
      if (statuses.at(-1) !== event.status) statuses.push(event.status);
    });
    await farm.queue.add({ generationId: generation.id, tenantId: farm.tenantId });

    const row = await farm.waitForStatus(generation.id, ['failed', 'succeeded'], 90_000);
    expect(row).toMatchObject({ status: 'failed', attempts: GENERATION_ATTEMPTS, outputKey: null, workerId: 'worker-retries' });
    expect(row.error).toMatch(/bucket/i);
    expect(row.finishedAt).toBeInstanceOf(Date);

    // The row is written just before the processor throws; BullMQ fails the job right after.
    await expect.poll(async () => (await farm.queue.getJob(generation.id))?.getState()).toBe('failed');
    expect((await farm.queue.getJob(generation.id))?.attemptsMade).toBe(GENERATION_ATTEMPTS);
    await expect.poll(() => statuses.at(-1)).toBe('failed');
    const retries = Array.from({ length: GENERATION_ATTEMPTS - 1 }, () => ['running', 'queued']).flat();
    expect(statuses).toEqual([...retries, 'running', 'failed']);
  });
});
