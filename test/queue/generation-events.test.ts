import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type GenerationEvent, GenerationEventPublisher, GenerationEventSubscriber } from '@chorus/queue';
import { useTestQueueConnection } from '../support/redis';

const connection = useTestQueueConnection('events');
let publisher: GenerationEventPublisher;
let subscriber: GenerationEventSubscriber;
afterAll(async () => {
  await publisher?.close();
  await subscriber?.close();
});

describe('generation events', () => {
  it("delivers a generation's events, in order, only to that generation's listeners", async () => {
    publisher = new GenerationEventPublisher(connection);
    subscriber = new GenerationEventSubscriber(connection);
    const forA: GenerationEvent[] = [];
    const forB: GenerationEvent[] = [];
    const stopA = await subscriber.subscribe('a', (event) => forA.push(event));
    await subscriber.subscribe('b', (event) => forB.push(event));

    const events: GenerationEvent[] = [
      { id: 'a', status: 'running', progress: 0 },
      { id: 'a', status: 'running', progress: 0.5, step: 4, steps: 8 },
      { id: 'a', status: 'succeeded', progress: 1 },
    ];
    for (const event of events) await publisher.publish(event);
    await expect.poll(() => forA).toEqual(events);
    expect(forB).toEqual([]);

    stopA();
    await publisher.publish({ id: 'b', status: 'failed', progress: 0, error: 'boom' });
    await publisher.publish({ id: 'a', status: 'canceled', progress: 0 });
    await expect.poll(() => forB).toEqual([{ id: 'b', status: 'failed', progress: 0, error: 'boom' }]);
    expect(forA).toHaveLength(3);
  });

  it('serves two listeners of one generation, and keeps the other subscribed when one leaves', async () => {
    const first: number[] = [];
    const second: number[] = [];
    const stopFirst = await subscriber.subscribe('c', (event) => first.push(event.progress));
    await subscriber.subscribe('c', (event) => second.push(event.progress));
    await publisher.publish({ id: 'c', status: 'running', progress: 0.25 });
    await expect.poll(() => first).toEqual([0.25]);
    stopFirst();
    await publisher.publish({ id: 'c', status: 'running', progress: 0.75 });
    await expect.poll(() => second).toEqual([0.25, 0.75]);
    expect(first).toEqual([0.25]);
  });

  it('leaves the Redis channel once nobody watches the generation any more', async () => {
    const redis = new Redis(connection.redisUrl);
    try {
      const channels = () => redis.pubsub('CHANNELS', `${connection.prefix}:*`) as Promise<string[]>;
      const stopOne = await subscriber.subscribe('d', () => {});
      const stopTwo = await subscriber.subscribe('d', () => {});
      expect(await channels()).toContain(`${connection.prefix}:generations:events:d`);
      stopOne();
      stopTwo();
      await expect.poll(channels).not.toContain(`${connection.prefix}:generations:events:d`);
    } finally {
      redis.disconnect();
    }
  });
});
