import type { Redis } from 'ioredis';
import { createRedis, prefixedKey, type QueueConnection } from './connection';

export type CancelListener = (generationId: string) => void;

/**
 * Cancel requests for running generations, sent to every worker over Redis pub/sub. BullMQ's
 * `worker.cancelJob` only reaches the instance it is called on, and the API does not know which
 * worker holds a job; each worker aborts the job if it holds it and ignores it otherwise.
 */
export class CancelBroadcast {
  private readonly channel: string;
  private publisher?: Redis;
  private subscriber?: Redis;
  private subscribed?: Promise<unknown>;
  private readonly listeners = new Set<CancelListener>();

  constructor(private readonly connection: QueueConnection) {
    this.channel = prefixedKey(connection, 'generations', 'cancel');
  }

  /** Asks every worker to abort this generation. Returns how many workers were listening. */
  async publish(generationId: string): Promise<number> {
    this.publisher ??= createRedis(this.connection);
    return this.publisher.publish(this.channel, generationId);
  }

  /** Listens for cancel requests; resolves once subscribed. Returns the unsubscribe function. */
  async subscribe(listener: CancelListener): Promise<() => void> {
    this.listeners.add(listener);
    if (!this.subscriber) {
      this.subscriber = createRedis(this.connection);
      this.subscriber.on('message', (channel: string, generationId: string) => {
        if (channel !== this.channel) return;
        for (const each of this.listeners) each(generationId);
      });
      this.subscribed = this.subscriber.subscribe(this.channel);
    }
    await this.subscribed;
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await Promise.all([this.publisher?.quit(), this.subscriber?.quit()]);
    this.publisher = this.subscriber = undefined;
    this.subscribed = undefined;
  }
}
