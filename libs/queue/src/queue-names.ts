/** Every BullMQ queue of the farm, in one place. */
export const QueueName = {
  /** One job per generation; job id = generation id. */
  Generations: 'generations',
  /** Webhook deliveries (coming with the webhooks feature). */
  Webhooks: 'webhooks',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/** Job names within the queues. */
export const JobName = {
  Generate: 'generate',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];
