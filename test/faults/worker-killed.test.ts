/**
 * Fault: a worker is SIGKILLed in the middle of sampling. Its job lock expires, BullMQ's stalled
 * check hands the job to the other worker, and that worker finishes it: one object in S3, one
 * succeeded row, two attempts on the record.
 */
import { GenerationQueue } from '@chorus/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, listObjectKeys, startFarmProcesses, type FarmProcesses } from '@chorus/testing';

let farm: FarmProcesses;
let queue: GenerationQueue;

beforeAll(async () => {
  farm = await startFarmProcesses('fault_kill', {
    env: {
      // A dead worker's job is taken again once its lock expires and a stalled check runs.
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    },
  });
  queue = new GenerationQueue(farm.connection);
  await Promise.all([farm.startWorker('kill-w1'), farm.startWorker('kill-w2')]);
}, 300_000);

afterAll(async () => {
  await queue?.close();
  await farm?.close();
}, 120_000);

describe('a worker killed mid-sampling', () => {
  it('loses nothing: the other worker finishes the job, once', async () => {
    const tenant = await farm.tenants.create({ name: 'kill-tenant' });
    const generation = await farm.generations.createQueued({
      tenantId: tenant.tenant.id,
      prompt: 'a kick drum loop',
      secondsStart: 0,
      secondsTotal: 1,
      // Enough steps that the kill lands between two of them.
      steps: 40,
      cfgScale: 1,
      sampler: 'euler',
      seed: 7,
      outputFormat: 'wav',
      priority: 5,
    });
    await queue.add({ generationId: generation.id, tenantId: tenant.tenant.id });

    const sampling = await eventually(
      'the generation sampling on a worker',
      async () => {
        const row = await farm.generations.findById(generation.id);
        return row?.status === 'running' && row.progress > 0 && row.progress < 1 ? row : undefined;
      },
      60_000,
      20,
      farm.describe,
    );
    const victim = farm.services.get(sampling.workerId!)!;
    const survivor = [...farm.services.values()].find((service) => service !== victim)!;
    victim.kill('SIGKILL');
    await victim.exited;

    const [done] = await farm.waitForStatuses([generation.id], ['succeeded', 'failed', 'canceled'], 90_000);
    expect(done.status).toBe('succeeded');
    expect(done.workerId).toBe(survivor.name);
    // One attempt on the killed worker, one on the survivor.
    expect(done.attempts).toBe(2);

    const keys = await listObjectKeys(farm.s3);
    expect(keys).toEqual([done.outputKey]);
    expect(await farm.s3.store.head(done.outputKey!)).toEqual(expect.objectContaining({ bytes: done.outputBytes }));
    expect(await farm.db!.prisma.generation.count({ where: { status: 'succeeded' } })).toBe(1);

    const job = await queue.getJob(generation.id);
    // BullMQ saw one stall (the kill) and two starts; the one that ran to the end is its only attempt.
    expect(job?.stalledCounter).toBe(1);
    expect(job?.attemptsStarted).toBe(2);
    expect(job?.attemptsMade).toBe(1);
    expect(await job?.getState()).toBe('completed');
    console.info(
      `[fault] worker killed at progress ${sampling.progress.toFixed(3)}: objects=${keys.length} succeeded rows=1 ` +
        `row attempts=${done.attempts} job stalledCounter=${job?.stalledCounter} attemptsStarted=${job?.attemptsStarted} attemptsMade=${job?.attemptsMade} finished by ${done.workerId}`,
    );
  }, 240_000);
});
