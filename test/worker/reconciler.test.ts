import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Generation, GenerationRepository, type NewGeneration, TenantRepository } from '@chorus/db';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  bullConnection,
  createRedis,
  FairShare,
  GenerationQueue,
  GenerationScheduler,
  laneOf,
  QueueName,
  type QueueConnection,
} from '@chorus/queue';
import { Reconciler } from '../../apps/worker/src/reconciler.service';
import { loadWorkerConfig } from '../../apps/worker/src/worker-config';
import { useTestDatabase } from '../support/database';
import { createTestQueueConnection, deletePrefix, useTestQueueConnection } from '../support/redis';

// Reconcilers of two workers, on real Postgres and Redis; no model is needed to re-queue jobs.
const db = useTestDatabase('reconciler');
const connection = useTestQueueConnection('reconciler');
// The served model's default steps: the unit of a job's cost in the fair share.
const DEFAULT_STEPS = 8;

/** A farm's queue with its fair-share scheduler, as the API and the workers build them. */
interface FarmQueue {
  connection: QueueConnection;
  queue: GenerationQueue;
  scheduler: GenerationScheduler;
  redis: Redis;
}

function farmQueue(on: QueueConnection): FarmQueue {
  const queue = new GenerationQueue(on);
  const redis = createRedis(on);
  return { connection: on, queue, redis, scheduler: new GenerationScheduler(queue, new FairShare(redis, queue.queue), DEFAULT_STEPS) };
}

let farm: FarmQueue;
let queue: GenerationQueue;
let generations: GenerationRepository;
let tenants: TenantRepository;
let tenantId: string;
const reconcilers: Reconciler[] = [];
const farms: FarmQueue[] = [];

function reconciler(workerId: string, on: FarmQueue = farm): Reconciler {
  const config = loadWorkerConfig({ WORKER_ID: workerId, RECONCILE_INTERVAL_MS: '60000', RECONCILE_MIN_AGE_MS: '5000' });
  const instance = new Reconciler(generations, tenants, on.queue, on.scheduler, on.connection, config, pino({ level: 'silent' }));
  reconcilers.push(instance);
  return instance;
}

async function queuedRow(ageSeconds: number, overrides: Partial<NewGeneration> = {}): Promise<string> {
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
    ...overrides,
  };
  const generation = await generations.createQueued(request);
  await db.prisma.$executeRaw`UPDATE generations SET queued_at = now() - make_interval(secs => ${ageSeconds}) WHERE id = ${generation.id}::uuid`;
  return generation.id;
}

beforeAll(async () => {
  farm = farmQueue(connection);
  queue = farm.queue;
  generations = new GenerationRepository(db.prisma);
  tenants = new TenantRepository(db.prisma);
  tenantId = (await tenants.create({ name: 'reconciled' })).tenant.id;
});
afterAll(async () => {
  for (const instance of reconcilers) await instance.stop();
  for (const each of [farm, ...farms]) {
    await each?.queue.close();
    await each?.redis.quit();
    if (each !== farm) await deletePrefix(each.connection);
  }
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

  it('re-adds lost jobs with the fair-share priorities a fresh submit of their lane gets', async () => {
    await db.prisma.generation.updateMany({ where: { status: 'queued' }, data: { status: 'canceled' } });
    const urgent = (await tenants.create({ name: 'reconciled-urgent', defaultPriority: 2 })).tenant;
    const batch = await db.prisma.batch.create({ data: { tenantId: urgent.id, total: 2 } });
    // Oldest first: an interactive request, two batch rows of another tenant, that tenant's own request.
    const ids = [
      await queuedRow(60, { steps: 2 }),
      await queuedRow(59, { tenantId: urgent.id, batchId: batch.id, steps: 8, priority: 2 }),
      await queuedRow(58, { tenantId: urgent.id, batchId: batch.id, steps: 4, priority: 2 }),
      await queuedRow(57, { tenantId: urgent.id, steps: 16, priority: 4 }),
    ];
    const rows = (await Promise.all(ids.map((id) => generations.findById(id)))) as Generation[];
    // Redis lost them (a fresh queue), and one worker's reconciler re-adds them...
    const restored = farmQueue(createTestQueueConnection('reconciler-restored'));
    // ...while a twin farm is handed the same rows fresh, as the API submits them: per tenant and lane.
    const twin = farmQueue(createTestQueueConnection('reconciler-twin'));
    farms.push(restored, twin);

    expect(await reconciler('worker-d', restored).reconcile()).toBe(rows.length);
    await twin.scheduler.enqueue({ id: tenantId, defaultPriority: 5 }, 'interactive', [rows[0]]);
    await twin.scheduler.enqueue(urgent, laneOf(rows[1]), [rows[1], rows[2]]);
    await twin.scheduler.enqueue(urgent, 'interactive', [rows[3]]);

    const priorities = async (on: FarmQueue) => Promise.all(ids.map(async (id) => (await on.queue.getJob(id))!.opts.priority));
    const restoredPriorities = await priorities(restored);
    expect(restoredPriorities).toEqual(await priorities(twin));
    // Prioritized like every fresh job, not plain waiting jobs that would run ahead of all of them.
    for (const id of ids) expect(await (await restored.queue.getJob(id))!.getState()).toBe('prioritized');
  });
});
