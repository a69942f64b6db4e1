import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerationRepository, type NewGeneration, TenantRepository } from '@chorus/db';
import { UnrecoverableError, Worker } from 'bullmq';
import { bullConnection, GenerationQueue, QueueName } from '@chorus/queue';
import { Reconciler } from '../../apps/worker/src/reconciler.service';
import { loadWorkerConfig } from '../../apps/worker/src/worker-config';
import { useTestDatabase } from '../support/database';
import { useTestQueueConnection } from '../support/redis';

// Reconcilers of two workers, on real Postgres and Redis; no model is needed to re-queue jobs.
const db = useTestDatabase('reconciler');
const connection = useTestQueueConnection('reconciler');
let queue: GenerationQueue;
let generations: GenerationRepository;
let tenantId: string;
const reconcilers: Reconciler[] = [];

function reconciler(workerId: string): Reconciler {
  const config = loadWorkerConfig({ WORKER_ID: workerId, RECONCILE_INTERVAL_MS: '60000', RECONCILE_MIN_AGE_MS: '5000' });
  const instance = new Reconciler(generations, queue, connection, config, pino({ level: 'silent' }));
  reconcilers.push(instance);
  return instance;
}

async function queuedRow(ageSeconds: number): Promise<string> {
  const request: NewGeneration = {
    tenantId,
    prompt: 'p',
    secondsStart: 0,
    secondsTotal: 1,
    steps: 2,
    cfgScale: 5,
    sampler: 'euler',
    seed: 1,
    outputFormat: 'wav',
    priority: 5,
  };
  const { generation } = await generations.createQueued(request);
  await db.prisma.$executeRaw`UPDATE generations SET queued_at = now() - make_interval(secs => ${ageSeconds}) WHERE id = ${generation.id}::uuid`;
  return generation.id;
}

beforeAll(async () => {
  queue = new GenerationQueue(connection);
  generations = new GenerationRepository(db.prisma);
  tenantId = (await new TenantRepository(db.prisma).create({ name: 'reconciled' })).tenant.id;
});
afterAll(async () => {
  for (const instance of reconcilers) await instance.stop();
  await queue.close();
});

describe('Reconciler', () => {
  it('lets one worker of the farm reconcile per interval, and re-adds only the old rows Redis lacks', async () => {
    const lost = await queuedRow(60);
    const held = await queuedRow(60);
    await queue.add({ generationId: held, tenantId });
    const fresh = await queuedRow(0);

    const [a, b] = [reconciler('worker-a'), reconciler('worker-b')];
    const results = await Promise.all([a.tick(), b.tick()]);
    expect(results.sort()).toEqual([0, 1]);
    expect(await queue.getJob(lost)).toMatchObject({ data: { generationId: lost, tenantId } });
    expect(await queue.getJob(fresh)).toBeUndefined();

    // Within the interval the lock is taken, even for the worker that holds it.
    await queue.remove(lost);
    expect(await Promise.all([a.tick(), b.tick()])).toEqual([0, 0]);
    // Without the lock (tools, tests) the pass runs and finds the same row again.
    expect(await a.reconcile()).toBe(1);
  });

  it('re-adds a row whose job Redis finished without the row ever hearing of it', async () => {
    // Only this test's row is queued, and the queue is empty.
    await db.prisma.generation.updateMany({ where: { status: 'queued' }, data: { status: 'canceled' } });
    await queue.queue.obliterate({ force: true });
    const id = await queuedRow(60);
    // A consumer that fails the job for good and never tells Postgres (it died before writing).
    const consumer = new Worker(QueueName.Generations, async () => {
      throw new UnrecoverableError('outcome lost');
    }, { connection: bullConnection(connection), prefix: connection.prefix });
    try {
      await queue.add({ generationId: id, tenantId });
      await expect.poll(async () => (await queue.getJob(id))?.getState()).toBe('failed');
    } finally {
      await consumer.close();
    }

    expect(await reconciler('worker-c').reconcile()).toBe(1);
    expect(['waiting', 'prioritized']).toContain(await (await queue.getJob(id))!.getState());
    expect((await generations.findById(id))?.status).toBe('queued');
  });
});
