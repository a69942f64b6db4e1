import { Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'bullmq';

export const DEFAULT_BULLMQ_PREFIX = 'chorus';

/** Where the farm's queues live: the Redis URL and the key prefix (`BULLMQ_PREFIX`). */
export interface QueueConnection {
  redisUrl: string;
  /** Namespaces every key and channel; tests use a unique one each. */
  prefix: string;
}

/** The connection an app's config names (`REDIS_URL`, `BULLMQ_PREFIX`): built here, and only here. */
export function queueConnectionFromConfig(config: { REDIS_URL: string; BULLMQ_PREFIX: string }): QueueConnection {
  return { redisUrl: config.REDIS_URL, prefix: config.BULLMQ_PREFIX };
}

/** BullMQ opens (and closes) its own connections from these options. */
export function bullConnection(connection: QueueConnection): ConnectionOptions {
  // null: BullMQ's blocking commands must wait for Redis to come back rather than fail the job.
  return { url: connection.redisUrl, maxRetriesPerRequest: null };
}

/** A plain ioredis connection (pub/sub, locks) to the same Redis. */
export function createRedis(connection: QueueConnection, options: RedisOptions = {}): Redis {
  const redis = new Redis(connection.redisUrl, { maxRetriesPerRequest: null, ...options });
  // ioredis reconnects by itself and a command sent meanwhile waits or fails where it is awaited;
  // without a listener every failed reconnect would also be printed as an unhandled 'error' event.
  redis.on('error', () => {});
  return redis;
}

/** The name of a pub/sub channel or plain key under the farm's prefix. */
export function prefixedKey(connection: QueueConnection, ...parts: string[]): string {
  return [connection.prefix, ...parts].join(':');
}
