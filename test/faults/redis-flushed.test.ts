/**
 * Fault: Redis loses everything (FLUSHALL, then a restart without persistence) while generations
 * are queued and one is running. Postgres is the truth: the reconciler re-queues what Redis lost,
 * and every generation finishes, each with exactly one object.
 *
 * The test runs its own redis-server on a spare port; the shared one on 6379 is never touched.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDedicatedRedis, type DedicatedRedis } from '../ops/dedicated-redis';
import { eventually, listObjectKeys, startFarmProcesses, type FarmProcesses, type FarmTenant } from '@chorus/testing';

let redis: DedicatedRedis;
let farm: FarmProcesses;
let tenant: FarmTenant;

beforeAll(async () => {
  redis = await startDedicatedRedis();
  farm = await startFarmProcesses('fault_redis', {
    redisUrl: redis.url,
    env: {
      RECONCILE_INTERVAL_MS: '500',
      RECONCILE_MIN_AGE_MS: '1000',
      // Lock renewal every second, so the running job meets the empty Redis while it samples.
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    },
  });
  await Promise.all([farm.startApi(), farm.startWorker('redis-w1')]);
  tenant = await farm.createTenant('redis');
}, 300_000);

afterAll(async () => {
  await farm?.close();
  await redis?.stop();
}, 120_000);

async function submit(count: number, steps: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const generation = await tenant.client.createGeneration({ prompt: `rain on a tin roof ${i}`, seconds_total: 1, steps, seed: i });
    ids.push(generation.id);
  }
  return ids;
}

async function runningWithProgress(id: string) {
  return eventually(
    `generation ${id} sampling`,
    async () => {
      const row = await farm.generations.findById(id);
      return row?.status === 'running' && row.progress > 0 ? row : undefined;
    },
    60_000,
    20,
    farm.describe,
  );
}

async function expectAllFinishedOnce(ids: string[]) {
  const rows = await farm.waitForStatuses(ids, ['succeeded', 'failed', 'canceled'], 150_000);
  expect(rows.map((row) => row.status)).toEqual(ids.map(() => 'succeeded'));
  const keys = await listObjectKeys(farm.s3);
  expect(keys.sort()).toEqual(rows.map((row) => row.outputKey).sort());
  expect(new Set(keys).size).toBe(ids.length);
  return { rows, keys };
}

describe('Redis loses its data', () => {
  it('FLUSHALL with generations queued and running: the reconciler restores them all from Postgres', async () => {
    const [long] = await submit(1, 60);
    const short = await submit(5, 1);
    await runningWithProgress(long);
    const flusher = new Redis(redis.url);
    await flusher.flushall();
    flusher.disconnect();

    const { rows, keys } = await expectAllFinishedOnce([long, ...short]);
    const attempts = rows.map((row) => row.attempts);
    console.info(`[fault] redis FLUSHALL: rows=${rows.length} succeeded, objects=${keys.length}, attempts=${JSON.stringify(attempts)}`);
    expect(farm.allLines().some((line) => line.includes('re-queued'))).toBe(true);
  }, 240_000);

  it('a restart without persistence: the same', async () => {
    const before = await listObjectKeys(farm.s3);
    const [long] = await submit(1, 60);
    const short = await submit(3, 1);
    await runningWithProgress(long);
    await redis.stop();
    await redis.start();

    const rows = await farm.waitForStatuses([long, ...short], ['succeeded', 'failed', 'canceled'], 150_000);
    expect(rows.map((row) => row.status)).toEqual(rows.map(() => 'succeeded'));
    const keys = (await listObjectKeys(farm.s3)).filter((key) => !before.includes(key));
    expect(keys.sort()).toEqual(rows.map((row) => row.outputKey).sort());
    console.info(
      `[fault] redis restart: rows=${rows.length} succeeded, new objects=${keys.length}, attempts=${JSON.stringify(rows.map((row) => row.attempts))}`,
    );
  }, 240_000);
});
