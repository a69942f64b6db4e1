import os from 'node:os';
import { WaveFile } from 'wavefile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationEvent } from '@chorus/queue';
import { WorkerRepository } from '@chorus/db';
import { readManifest, secondsTotalRange } from '@chorus/inference';
import { Reconciler } from '../../apps/worker/src/reconciler.service';
import { MODEL_DIR, type RunningWorker, startWorkerFarm, type WorkerFarm } from './worker-under-test';

let farm: WorkerFarm;
let worker: RunningWorker;
beforeAll(async () => {
  farm = await startWorkerFarm('main');
  worker = await farm.startWorker({ WORKER_ID: 'worker-main', RECONCILE_INTERVAL_MS: '3600000' });
});
afterAll(() => farm?.close());

describe('generation worker', () => {
  it('renders a queued generation, stores its audio in S3, then records it succeeded with its timings', async () => {
    const events: GenerationEvent[] = [];
    const submitted = await farm.submit({ secondsTotal: 1.5, steps: 4, seed: 42 }, { enqueue: false });
    await farm.events.subscribe(submitted.id, (event) => events.push(event));
    await farm.queue.add({ generationId: submitted.id, tenantId: farm.tenantId });

    const row = await farm.waitForStatus(submitted.id, ['succeeded', 'failed']);
    expect(row).toMatchObject({
      status: 'succeeded',
      progress: 1,
      attempts: 1,
      seed: 42,
      workerId: 'worker-main',
      modelName: 'chorus-tiny',
      outputKey: `generations/${farm.tenantId}/${submitted.id}.wav`,
      sampleRate: 44100,
      channels: 2,
      error: null,
    });
    expect(row.outputSeconds).toBeCloseTo(1.5, 6);
    for (const field of ['queueMs', 'inferenceMs', 'encodeMs', 'uploadMs'] as const) expect(row[field]).toBeGreaterThanOrEqual(0);
    expect(row.inferenceMs).toBeGreaterThan(0);
    expect(row.startedAt!.getTime()).toBeLessThanOrEqual(row.finishedAt!.getTime());

    const stored = await farm.s3.store.head(row.outputKey!);
    expect(stored).toEqual({ bytes: row.outputBytes, contentType: 'audio/wav' });
    const wav = new WaveFile(await farm.s3.getObject(row.outputKey!));
    const fmt = wav.fmt as { numChannels: number; sampleRate: number; bitsPerSample: number };
    expect(fmt).toMatchObject({ numChannels: 2, sampleRate: 44100 });
    const frames = (wav.data as { chunkSize: number }).chunkSize / (fmt.numChannels * (fmt.bitsPerSample / 8));
    expect(frames).toBe(Math.round(1.5 * 44100));

    await expect.poll(() => events.at(-1)?.status).toBe('succeeded');
    expect(events[0]).toMatchObject({ id: submitted.id, status: 'running', progress: 0 });
    const steps = events.filter((event) => event.step !== undefined && event.step > 0 && event.status === 'running').map((event) => event.step);
    expect(steps).toEqual([...steps].sort((a, b) => a! - b!));
    expect(steps.length).toBeGreaterThan(0);
  });

  it('logs every line about a generation with its generation_id, tenant_id and worker_id, named as the API names them', async () => {
    const generation = await farm.submit({ steps: 2 });
    await farm.waitForStatus(generation.id, ['succeeded']);
    const lines = () => worker.logs.filter((line) => line.generation_id === generation.id);
    // The success line follows the row's update by a moment.
    await expect.poll(() => lines().map((line) => line.msg)).toEqual(expect.arrayContaining(['generation started', 'generation succeeded']));
    for (const line of lines()) expect(line).toMatchObject({ tenant_id: farm.tenantId, worker_id: 'worker-main' });
    // No line names it the other way.
    expect(worker.logs.filter((line) => 'generationId' in line || 'tenantId' in line)).toEqual([]);
  });

  it('cancels a running generation between two sampler steps when the cancel is broadcast', async () => {
    const generation = await farm.submit({ steps: 400, secondsTotal: 1 }, { enqueue: false });
    const steps: number[] = [];
    let canceledAt: number | undefined;
    await farm.events.subscribe(generation.id, (event) => {
      if (event.step !== undefined) steps.push(event.step);
      if (event.status === 'canceled') canceledAt = steps.at(-1);
    });
    await farm.queue.add({ generationId: generation.id, tenantId: farm.tenantId });
    await expect.poll(() => steps.at(-1) ?? 0, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);

    await farm.generations.requestCancel(farm.tenantId, generation.id);
    const stepAtCancel = steps.at(-1)!;
    expect(await farm.cancels.publish(generation.id)).toBeGreaterThan(0);

    const row = await farm.waitForStatus(generation.id, ['canceled', 'succeeded', 'failed'], 30_000);
    expect(row.status).toBe('canceled');
    expect(row.outputKey).toBeNull();
    expect(await farm.s3.store.head(`generations/${farm.tenantId}/${generation.id}.wav`)).toBeNull();
    await expect.poll(() => canceledAt).toBeDefined();
    expect(canceledAt! - stepAtCancel).toBeLessThanOrEqual(2);
    // Not retried: the processor throws UnrecoverableError right after writing the row.
    await expect.poll(async () => (await farm.queue.getJob(generation.id))?.getState()).toBe('failed');
    expect((await farm.queue.getJob(generation.id))?.attemptsMade).toBe(1);
  });

  it('does not start a generation whose cancel was requested while it waited', async () => {
    const generation = await farm.submit({}, { enqueue: false });
    await farm.generations.requestCancel(farm.tenantId, generation.id);
    await farm.queue.add({ generationId: generation.id, tenantId: farm.tenantId });
    const row = await farm.waitForStatus(generation.id, ['canceled', 'succeeded', 'failed']);
    expect(row).toMatchObject({ status: 'canceled', attempts: 0, startedAt: null });
  });

  it('fails a request the model refuses at once, without retrying it', async () => {
    // pingpong is a sampler the farm knows, but not one of this v-objective model's.
    const generation = await farm.submit({ sampler: 'pingpong' });
    const row = await farm.waitForStatus(generation.id, ['failed', 'succeeded']);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/sampler/);
    expect(row.attempts).toBe(1);
  });

  it("refuses a seconds_total below one latent frame by the API's rule, in the API's field name", async () => {
    const manifest = await readManifest(MODEL_DIR);
    const { min, max } = secondsTotalRange(manifest);
    // Written straight to the row: the API refuses it at the edge, so only a model that differs from the API's gets here.
    const generation = await farm.submit({ secondsTotal: 0.00001 });
    const row = await farm.waitForStatus(generation.id, ['failed', 'succeeded']);
    expect(row.status).toBe('failed');
    expect(row.error).toBe(`seconds_total must be a number of seconds from ${min} to ${max} (the model's window), got 0.00001`);
    expect(row.attempts).toBe(1);
  });

  it('skips a job whose generation already finished (Postgres is the truth)', async () => {
    const generation = await farm.submit({}, { enqueue: false });
    await farm.generations.markCanceled(generation.id);
    await farm.queue.add({ generationId: generation.id, tenantId: farm.tenantId });
    const job = (await farm.queue.getJob(generation.id))!;
    await expect.poll(async () => job.getState(), { timeout: 30_000 }).toBe('completed');
    expect((await farm.generations.findById(generation.id))?.status).toBe('canceled');
  });

  it('re-queues a generation that Postgres holds as queued but Redis lost', async () => {
    const generation = await farm.submit({ steps: 2 }, { enqueue: false });
    await farm.db.prisma.$executeRaw`UPDATE generations SET queued_at = now() - interval '1 minute' WHERE id = ${generation.id}::uuid`;
    expect(await farm.queue.getJob(generation.id)).toBeUndefined();

    expect(await worker.app.get(Reconciler).tick()).toBe(1);
    const row = await farm.waitForStatus(generation.id, ['succeeded', 'failed']);
    expect(row.status).toBe('succeeded');
  });

  it('keeps a heartbeat row naming its device, model and host', async () => {
    const workers = new WorkerRepository(farm.db.prisma);
    const row = await workers.findById('worker-main');
    expect(row).toMatchObject({ id: 'worker-main', host: os.hostname(), device: 'cpu', model: expect.stringMatching(/^chorus-tiny@/) });
    await expect.poll(async () => (await workers.findById('worker-main'))!.lastHeartbeatAt.getTime(), { timeout: 5_000 }).toBeGreaterThan(
      row!.lastHeartbeatAt.getTime(),
    );
  });
});
