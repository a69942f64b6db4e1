import { randomUUID } from 'node:crypto';
import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_REDIS_URL } from '@chorus/contracts';
import { BULLMQ_MAX_PRIORITY, FairShare, type Flow } from './fair-share';

// Real Redis and real BullMQ workers: the claim is about the order BullMQ actually runs jobs in.
const redisUrl = process.env.TEST_REDIS_URL ?? DEFAULT_REDIS_URL;
const prefix = `test-fair-share-${randomUUID()}`;

interface Payload {
  tenant: string;
  lane: string;
  n: number;
}

let redis: Redis;
let queue: Queue<Payload>;
let fairShare: FairShare;
let queueName: string;

const flow = (tenantId: string, lane: Flow['lane'], tenantPriority = 5): Flow => ({ tenantId, lane, tenantPriority });

async function enqueue(f: Flow, count: number, jobPriority?: number, beforeAdding?: () => Promise<void>): Promise<number[]> {
  const jobs = Array.from({ length: count }, () => ({ priority: jobPriority }));
  const added = await fairShare.schedule(f, jobs, async (priorities, offset) => {
    await beforeAdding?.();
    await queue.addBulk(
      priorities.map((priority, i) => ({ name: 'generate', data: { tenant: f.tenantId, lane: f.lane, n: offset + i }, opts: { priority } })),
    );
    return priorities;
  });
  return added.flat();
}

/** The priority the next job of a flow would get, without adding it. */
async function nextPriority(f: Flow): Promise<number> {
  const [[priority]] = await fairShare.schedule(f, [{}], async (priorities) => priorities);
  return priority;
}

/** Runs a one-at-a-time worker until `count` jobs finished; `onStart` may add jobs while one runs. */
async function runJobs(count: number, onStart?: (job: Job<Payload>, index: number) => Promise<void>): Promise<Payload[]> {
  const started: Payload[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const worker = new Worker<Payload>(
    queueName,
    async (job) => {
      const index = started.push(job.data) - 1;
      if (onStart) await onStart(job, index);
      if (started.length === count) finish();
    },
    { connection: { url: redisUrl }, prefix, concurrency: 1, autorun: true },
  );
  await done;
  await worker.close();
  return started.slice(0, count);
}

beforeAll(() => {
  redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  await redis.quit();
});

beforeEach(async () => {
  queueName = `generations-${randomUUID()}`;
  queue = new Queue<Payload>(queueName, { connection: { url: redisUrl }, prefix });
  fairShare = new FairShare(redis, queue);
});

afterEach(async () => {
  await queue.obliterate({ force: true });
  await redis.del(queue.toKey('fair-share'));
  await queue.close();
});

describe('FairShare', () => {
  it("starts another tenant's single request next, ahead of a 2,000-item batch being worked through", async () => {
    await enqueue(flow('big', 'batch'), 2000);

    const order = await runJobs(40, async (_job, index) => {
      // Arrives while the 20th batch item runs: it must be the very next job to start.
      if (index === 19) await enqueue(flow('small', 'interactive'), 1);
    });

    expect(order.findIndex((job) => job.tenant === 'small')).toBe(20);
  });

  it("lets an interactive request overtake its own tenant's queued batch", async () => {
    await enqueue(flow('studio', 'batch'), 300);

    const order = await runJobs(10, async (_job, index) => {
      if (index === 2) await enqueue(flow('studio', 'interactive'), 1);
    });

    expect(order.findIndex((job) => job.lane === 'interactive')).toBe(3);
  });

  it('shares the workers equally between two backlogged tenants of the same priority', async () => {
    await enqueue(flow('early', 'batch'), 300);
    await enqueue(flow('late', 'batch'), 300);

    const order = await runJobs(100);
    const late = order.filter((job) => job.tenant === 'late').length;

    // The tenant that queued second is not served after the first one's 300 items: it gets half.
    expect(late).toBeGreaterThanOrEqual(49);
    expect(late).toBeLessThanOrEqual(51);
  });

  it("shares the workers in proportion to the tenants' default priorities", async () => {
    // Level 1 weighs 10, level 6 weighs 5: the urgent tenant gets two jobs for each of the other's.
    await enqueue(flow('standard', 'batch', 6), 300);
    await enqueue(flow('premium', 'batch', 1), 300);

    const order = await runJobs(90);
    const premium = order.filter((job) => job.tenant === 'premium').length;

    expect(premium).toBeGreaterThanOrEqual(59);
    expect(premium).toBeLessThanOrEqual(61);
  });

  it('lets work that arrived later go first when a request lowers its own priority', async () => {
    await enqueue(flow('backlog', 'batch'), 200);

    const order = await runJobs(10, async (_job, index) => {
      if (index === 2) {
        await enqueue(flow('polite', 'interactive', 2), 1, 5);
        await enqueue(flow('eager', 'interactive', 2), 1);
      }
    });
    const position = (tenant: string) => order.findIndex((job) => job.tenant === tenant);

    expect(position('eager')).toBe(3);
    expect(position('polite')).toBeGreaterThan(position('eager'));
  });

  it("gives a canceled batch's virtual time back to its tenant", async () => {
    await enqueue(flow('other', 'batch'), 50);
    await enqueue(flow('canceler', 'batch'), 1000);
    const canceled = await queue.getPrioritized(0, -1);
    await Promise.all(canceled.filter((job) => job.data.tenant === 'canceler').map((job) => job.remove()));
    await fairShare.refund(flow('canceler', 'batch'), Array.from({ length: 1000 }, () => ({})));

    const returning = await nextPriority(flow('canceler', 'batch'));
    const newcomer = await nextPriority(flow('newcomer', 'batch'));

    expect(returning).toBeLessThanOrEqual(newcomer);
  });

  it('renumbers priorities from the start once the queue has drained', async () => {
    const atStart = await nextPriority(flow('first-ever', 'interactive'));
    await enqueue(flow('night', 'batch', 10), 200);
    await runJobs(200);

    const afterDrain = await nextPriority(flow('morning', 'interactive'));

    expect(afterDrain).toBe(atStart);
  });

  it("does not queue a request behind a batch that another API instance is still adding", async () => {
    await enqueue(flow('big', 'batch'), 500, undefined, async () => {
      // Between the batch's priorities being handed out and its jobs reaching BullMQ.
      await enqueue(flow('small', 'interactive'), 1);
    });

    const order = await runJobs(5);

    expect(order[0].tenant).toBe('small');
  });

  it('never hands BullMQ a priority outside its range, however much work is queued', async () => {
    // 20,000 items of ten times the standard work at the lowest level: far past 2,097,151 ticks.
    const jobs = Array.from({ length: 20_000 }, () => ({ cost: 10 }));
    const added = await fairShare.schedule(flow('flood', 'batch', 10), jobs, async (priorities, offset) => {
      // BullMQ itself rejects a priority above its maximum.
      await queue.addBulk(priorities.map((priority, i) => ({ name: 'generate', data: { tenant: 'flood', lane: 'batch', n: offset + i }, opts: { priority } })));
      return priorities;
    });
    const priorities = added.flat();

    expect(Math.min(...priorities)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...priorities)).toBe(BULLMQ_MAX_PRIORITY);
    expect(await queue.getPrioritizedCount()).toBe(20_000);
  });
});
