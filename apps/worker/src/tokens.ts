/** Injection token of the worker's QueueConnection ({ redisUrl, prefix }). */
export const QUEUE_CONNECTION = Symbol('chorus:queue-connection');

/** Injection token of the worker's ioredis connection for fair-share scheduling (the reconciler's re-adds). */
export const SCHEDULING_REDIS = Symbol('chorus:scheduling-redis');
