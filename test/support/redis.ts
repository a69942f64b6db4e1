/**
 * A unique BullMQ prefix on the test Redis for one test file, with its keys deleted afterwards
 * (the prefix itself comes from @chorus/testing, which the benchmarks share).
 *
 *   const queues = useTestQueueConnection('cancel');   // { redisUrl, prefix }, filled in beforeAll
 */
import { afterAll, beforeAll } from 'vitest';
import type { QueueConnection } from '@chorus/queue';
import { createTestQueueConnection, deletePrefix } from '@chorus/testing';

export { createTestQueueConnection, deletePrefix, testRedisUrl } from '@chorus/testing';

export function useTestQueueConnection(label?: string): QueueConnection {
  const handle = {} as QueueConnection;
  beforeAll(() => {
    Object.assign(handle, createTestQueueConnection(label));
  });
  afterAll(async () => {
    if (handle.prefix) await deletePrefix(handle);
  });
  return handle;
}
