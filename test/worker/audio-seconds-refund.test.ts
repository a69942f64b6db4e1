import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Generation, NewGeneration } from '@chorus/db';
import { AudioSecondsQuota } from '@chorus/queue';
import { startWorkerFarm, type WorkerFarm } from './worker-under-test';

// The API charges a tenant's audio seconds when it accepts a generation; a worker that ends the
// generation without audio gives them back.
let farm: WorkerFarm;
let quota: AudioSecondsQuota;
beforeAll(async () => {
  farm = await startWorkerFarm('audio-refund');
  quota = new AudioSecondsQuota(farm.connection);
  await farm.startWorker({ WORKER_ID: 'worker-audio-refund', RECONCILE_INTERVAL_MS: '3600000' });
});
afterAll(async () => {
  await quota?.close();
  await farm?.close();
});

/** Submits a generation charged against the tenant's quota, as the API does. */
async function submitCharged(overrides: Partial<NewGeneration>, options?: { enqueue?: boolean }): Promise<Generation> {
  const chargedAt = new Date();
  const generation = await farm.submit(overrides, { enqueue: false });
  expect(await quota.charge(farm.tenantId, generation.secondsTotal, 1000, chargedAt)).toBe(true);
  await quota.recordCharges(farm.tenantId, chargedAt, [generation]);
  if (options?.enqueue !== false) await farm.queue.add({ generationId: generation.id, tenantId: farm.tenantId });
  return generation;
}

function used(): Promise<number> {
  return quota.used(farm.tenantId, new Date());
}

describe('audio seconds a worker gives back', () => {
  it('for a generation that failed for good', async () => {
    const before = await used();
    const generation = await submitCharged({ sampler: 'pingpong', secondsTotal: 2 });

    expect((await farm.waitForStatus(generation.id, ['failed', 'succeeded'])).status).toBe('failed');
    await expect.poll(used).toBe(before);
  });

  it('for a running generation canceled between two sampler steps', async () => {
    const before = await used();
    const generation = await submitCharged({ steps: 400, secondsTotal: 1 }, { enqueue: false });
    const steps: number[] = [];
    await farm.events.subscribe(generation.id, (event) => {
      if (event.step !== undefined) steps.push(event.step);
    });
    await farm.queue.add({ generationId: generation.id, tenantId: farm.tenantId });
    await expect.poll(() => steps.at(-1) ?? 0, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);

    await farm.generations.requestCancel(farm.tenantId, generation.id);
    await farm.cancels.publish(generation.id);

    expect((await farm.waitForStatus(generation.id, ['canceled', 'succeeded', 'failed'], 30_000)).status).toBe('canceled');
    await expect.poll(used).toBe(before);
  });

  it('not for a generation that succeeded', async () => {
    const before = await used();
    const generation = await submitCharged({ steps: 2, secondsTotal: 1.5 });

    expect((await farm.waitForStatus(generation.id, ['succeeded', 'failed'])).status).toBe('succeeded');
    expect(await used()).toBe(before + 1.5);
  });
});
