import { WaveFile } from 'wavefile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerMetrics } from '../../apps/worker/src/metrics/worker-metrics';
import { type RunningWorker, startWorkerFarm, type WorkerFarm } from './worker-under-test';

let farm: WorkerFarm;
let worker: RunningWorker;
beforeAll(async () => {
  farm = await startWorkerFarm('batching');
  worker = await farm.startWorker({
    WORKER_ID: 'worker-batching',
    WORKER_MAX_BATCH: '2',
    WORKER_BATCH_WINDOW_MS: '300',
    RECONCILE_INTERVAL_MS: '3600000',
  });
});
afterAll(() => farm?.close());

async function samples(key: string): Promise<Int16Array> {
  const wav = new WaveFile(await farm.s3.getObject(key));
  return wav.getSamples(true, Int16Array) as unknown as Int16Array;
}

async function batchSizes(): Promise<{ sum: number; count: number }> {
  const metric = await worker.app.get(WorkerMetrics).registry.getSingleMetric('chorus_batch_size')!.get();
  // A histogram's values carry the series name (…_sum, …_count) beside the usual fields.
  const values = metric.values as Array<{ metricName?: string; value: number }>;
  const value = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
  return { sum: value('chorus_batch_size_sum'), count: value('chorus_batch_size_count') };
}

describe('batched sampling', () => {
  it('samples two compatible generations that wait together in one pass, each as it would sound alone', async () => {
    const alone = await farm.submit({ seed: 7, steps: 6 });
    const aloneRow = await farm.waitForStatus(alone.id, ['succeeded', 'failed']);
    expect(aloneRow.status).toBe('succeeded');
    expect(await batchSizes()).toEqual({ sum: 1, count: 1 });

    const pair = [
      await farm.submit({ seed: 7, steps: 6 }, { enqueue: false }),
      await farm.submit({ seed: 8, steps: 6, secondsTotal: 1 }, { enqueue: false }),
    ];
    await farm.queue.addBulk(pair.map((g) => ({ data: { generationId: g.id, tenantId: farm.tenantId } })));
    const rows = await Promise.all(pair.map((g) => farm.waitForStatus(g.id, ['succeeded', 'failed'])));
    expect(rows.map((row) => row.status)).toEqual(['succeeded', 'succeeded']);
    expect(await batchSizes()).toEqual({ sum: 3, count: 2 });

    // Each item draws its own noise, so its neighbour in the batch does not change it.
    const [first, again] = [await samples(aloneRow.outputKey!), await samples(rows[0].outputKey!)];
    expect(again.length).toBe(first.length);
    let maxDifference = 0;
    for (let i = 0; i < first.length; i++) maxDifference = Math.max(maxDifference, Math.abs(first[i] - again[i]));
    expect(maxDifference).toBe(0);
    expect(rows[1].outputSeconds).toBeCloseTo(1, 6);
  });
});
