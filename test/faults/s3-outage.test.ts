/**
 * Fault: S3 answers 503 (SlowDown), then refuses connections for 5 s, while a worker uploads.
 * Uploads retry with backoff within the attempt (the audio is not rendered again); no row is marked
 * succeeded while its object is missing; once S3 is back every generation finishes, each with
 * exactly one object.
 *
 * The workers reach the s3rver through a proxy this test controls.
 */
import { GenerationQueue } from '@chorus/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listObjectKeys, sleep, startFarmProcesses, type FarmProcesses } from '@chorus/testing';
import { startHttpFaultProxy, type HttpFaultProxy } from './support/fault-proxies';

let proxy: HttpFaultProxy | undefined;
let farm: FarmProcesses;
let queue: GenerationQueue;

beforeAll(async () => {
  farm = await startFarmProcesses('fault_s3');
  // The workers talk to S3 only through the proxy.
  proxy = await startHttpFaultProxy(farm.s3.endpoint);
  farm.env.S3_ENDPOINT = proxy.url;
  queue = new GenerationQueue(farm.connection);
}, 300_000);

afterAll(async () => {
  await queue?.close();
  await farm?.close();
  await proxy?.close();
}, 120_000);

describe('S3 unavailable during uploads', () => {
  it('retries, marks nothing succeeded without its object, and finishes everything once S3 is back', async () => {
    await farm.startWorker('s3-w1');
    if (!proxy) throw new Error('no proxy');

    const tenant = await farm.tenants.create({ name: 's3-tenant' });
    await proxy.setMode('503');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const generation = await farm.generations.createQueued({
        tenantId: tenant.tenant.id,
        prompt: `tape hiss ${i}`,
        secondsStart: 0,
        secondsTotal: 1,
        steps: 1,
        cfgScale: 1,
        sampler: 'euler',
        seed: i,
        outputFormat: 'wav',
        priority: 5,
      });
      await queue.add({ generationId: generation.id, tenantId: tenant.tenant.id });
      ids.push(generation.id);
    }

    // Every 200 ms through the outage: a succeeded row must already have its object.
    const violations: string[] = [];
    let checks = 0;
    const watch = async (done: () => boolean, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      do {
        const rows = await farm.db!.prisma.generation.findMany({ where: { id: { in: ids }, status: 'succeeded' } });
        for (const row of rows) if (!(await farm.s3.store.head(row.outputKey!))) violations.push(row.id);
        checks++;
        await sleep(200);
      } while (!done() && Date.now() < deadline);
      return farm.db!.prisma.generation.count({ where: { id: { in: ids }, status: 'succeeded' } });
    };

    // 503 until the uploads have been answered 503 several times over (they retry), then refused.
    const enough503 = () => (proxy!.counts['503 PUT'] ?? 0) >= 2 * ids.length;
    const succeededDuring503 = await watch(enough503, 90_000);
    expect(enough503(), `uploads seen: ${JSON.stringify(proxy.counts)}`).toBe(true);
    await proxy.setMode('refuse');
    const refusedFrom = Date.now();
    const succeededWhileRefused = await watch(() => Date.now() - refusedFrom > 5_000, 15_000);
    const outage = { ...proxy.counts };
    await proxy.setMode('pass');

    const rows = await farm.waitForStatuses(ids, ['succeeded', 'failed', 'canceled'], 120_000);
    await watch(() => true, 0);
    expect(violations).toEqual([]);
    expect(succeededDuring503).toBe(0);
    expect(succeededWhileRefused).toBe(0);
    expect(rows.map((row) => row.status)).toEqual(ids.map(() => 'succeeded'));
    // The uploads rode the outage out: nothing was rendered a second time.
    expect(rows.map((row) => row.attempts)).toEqual(ids.map(() => 1));
    const keys = await listObjectKeys(farm.s3);
    expect(keys.sort()).toEqual(rows.map((row) => row.outputKey).sort());
    // The uploads were retried against the failing store: several 503s per generation.
    expect(outage['503 PUT']).toBeGreaterThanOrEqual(2 * ids.length);

    const worker = farm.services.get('s3-w1')!;
    const retriedAttempts = worker.logs.filter((line) => line.msg === 'generation attempt failed; it will be retried').length;
    console.info(
      `[fault] s3 503 then refused 5 s: rows=${rows.length} succeeded, objects=${keys.length}, ` +
        `attempts=${JSON.stringify(rows.map((row) => row.attempts))}, requests during the outage=${JSON.stringify(outage)}, after=${JSON.stringify(proxy.counts)}, ` +
        `job retries after an exhausted upload=${retriedAttempts}, checks=${checks}, violations=${violations.length}`,
    );
  }, 240_000);
});
