import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATION_ATTEMPTS, GenerationQueue } from '@chorus/queue';
import { useTestQueueConnection } from '../support/redis';

const connection = useTestQueueConnection('genqueue');
let queue: GenerationQueue;
beforeAll(() => {
  queue = new GenerationQueue(connection);
});
afterAll(() => queue.close());

describe('GenerationQueue', () => {
  it('uses the generation id as job id, so adding a generation twice queues it once', async () => {
    const data = { generationId: '11111111-1111-4111-8111-111111111111', tenantId: 't1' };
    await queue.add(data, { priority: 3 });
    await queue.add(data, { priority: 3 });
    const job = await queue.getJob(data.generationId);
    expect(job?.data).toEqual(data);
    expect(job?.opts).toMatchObject({ attempts: GENERATION_ATTEMPTS, priority: 3, backoff: { type: 'exponential' } });
    expect(await queue.waitingCount()).toBe(1);
  });

  it('removes a waiting job, and reports false for one it does not hold', async () => {
    const data = { generationId: '22222222-2222-4222-8222-222222222222', tenantId: 't1' };
    await queue.add(data);
    expect(await queue.remove(data.generationId)).toBe(true);
    expect(await queue.getJob(data.generationId)).toBeUndefined();
    expect(await queue.remove(data.generationId)).toBe(false);
  });
});
