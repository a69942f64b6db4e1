/**
 * Fault: the network to Redis is slow. Both workers reach Redis through a proxy that delays every
 * packet by 150 ms each way, with a short job lock (2 s, renewed every second) so that slowness
 * would show: no lock expires, no job stalls, no generation is started twice.
 */
import { GenerationQueue } from '@chorus/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listObjectKeys, startFarmProcesses, type FarmProcesses } from '@chorus/testing';
import { startLatencyProxy, type LatencyProxy } from './support/fault-proxies';

const LATENCY_MS = 150;

let proxy: LatencyProxy;
let farm: FarmProcesses;
let queue: GenerationQueue;

beforeAll(async () => {
  farm = await startFarmProcesses('fault_latency', {
    env: { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' },
  });
  proxy = await startLatencyProxy(farm.connection.redisUrl, LATENCY_MS);
  // The workers go through the proxy; the test adds jobs directly.
  farm.env.REDIS_URL = proxy.url;
  queue = new GenerationQueue(farm.connection);
  await Promise.all([farm.startWorker('slow-w1'), farm.startWorker('slow-w2')]);
}, 300_000);

afterAll(async () => {
  await queue?.close();
  await farm?.close();
  await proxy?.close();
}, 120_000);

describe('slow network to Redis', () => {
  it('keeps every lock and runs each job once', async () => {
    const tenant = await farm.tenants.create({ name: 'latency-tenant' });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const generation = await farm.generations.createQueued({
        tenantId: tenant.tenant.id,
        prompt: `vinyl crackle ${i}`,
        secondsStart: 0,
        secondsTotal: 1,
        // Long enough that each job's lock is renewed a few times over the slow link.
        steps: 12,
        cfgScale: 1,
        sampler: 'euler',
        seed: i,
        outputFormat: 'wav',
        priority: 5,
      });
      await queue.add({ generationId: generation.id, tenantId: tenant.tenant.id });
      ids.push(generation.id);
    }

    const rows = await farm.waitForStatuses(ids, ['succeeded', 'failed', 'canceled'], 180_000);
    expect(rows.map((row) => row.status)).toEqual(ids.map(() => 'succeeded'));
    expect(rows.map((row) => row.attempts)).toEqual(ids.map(() => 1));

    const logs = [...farm.services.values()].flatMap((service) => service.logs);
    const starts = logs.filter((line) => line.msg === 'generation started').map((line) => line.generation_id as string);
    expect(starts.sort()).toEqual([...ids].sort());
    const lockTrouble = farm.allLines().filter((line) => /could not renew lock|lost the job lock|stalled/i.test(line));
    expect(lockTrouble).toEqual([]);

    const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
    expect(jobs.map((job) => job?.stalledCounter)).toEqual(ids.map(() => 0));
    expect(jobs.map((job) => job?.attemptsStarted)).toEqual(ids.map(() => 1));

    const keys = await listObjectKeys(farm.s3);
    expect(keys.sort()).toEqual(rows.map((row) => row.outputKey).sort());
    const byWorker: Record<string, number> = {};
    for (const row of rows) byWorker[row.workerId!] = (byWorker[row.workerId!] ?? 0) + 1;
    console.info(
      `[fault] redis +${LATENCY_MS} ms each way (${proxy.chunks} chunks delayed): rows=${rows.length} succeeded, objects=${keys.length}, ` +
        `attempts=${JSON.stringify(rows.map((row) => row.attempts))}, starts=${starts.length}, stalls=0, by worker ${JSON.stringify(byWorker)}`,
    );
  }, 300_000);
});
