/** Injection token of the worker's QueueConnection ({ redisUrl, prefix }). */
export const QUEUE_CONNECTION = Symbol('chorus:queue-connection');
