/**
 * A unique BullMQ prefix on the test Redis, for a test file or a benchmark; `deletePrefix` removes
 * its keys afterwards (test/support/redis.ts's `useTestQueueConnection` does both in vitest hooks).
 *
 * Redis comes from TEST_REDIS_URL, else redis://127.0.0.1:6379.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { DEFAULT_REDIS_URL } from '@chorus/contracts';
import type { QueueConnection } from '@chorus/queue';

export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL || DEFAULT_REDIS_URL;
}

export function createTestQueueConnection(label = 'q', redisUrl = testRedisUrl()): QueueConnection {
  return { redisUrl, prefix: `chorus-test-${label}-${randomBytes(4).toString('hex')}` };
}

/** Deletes every key under the prefix. */
export async function deletePrefix(connection: QueueConnection): Promise<void> {
  const redis = new Redis(connection.redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${connection.prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
