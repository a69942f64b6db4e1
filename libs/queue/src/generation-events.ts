import type { Redis } from 'ioredis';
import type { GenerationEvent } from '@chorus/contracts';
import { createRedis, prefixedKey, type QueueConnection } from './connection';

/** What a worker announces about a generation (each status change and each throttled progress step): the contract's event. */
export type { GenerationEvent } from '@chorus/contracts';

export type GenerationEventListener = (event: GenerationEvent) => void;

function channelFor(connection: QueueConnection, generationId: string): string {
  return prefixedKey(connection, 'generations', 'events', generationId);
}

/** Publishes generation events (workers; the API too, when it cancels a queued generation). */
export class GenerationEventPublisher {
  private redis?: Redis;

  constructor(private readonly connection: QueueConnection) {}

  async publish(event: GenerationEvent): Promise<void> {
    this.redis ??= createRedis(this.connection);
    await this.redis.publish(channelFor(this.connection, event.id), JSON.stringify(event));
  }

  async close(): Promise<void> {
    await this.redis?.quit();
    this.redis = undefined;
  }
}

/**
 * Receives generation events for the generations someone watches (the API's SSE streams), over one
 * Redis connection with one channel per watched generation. Events are not stored: subscribe first,
 * then read the current state from Postgres, and nothing is missed in between.
 */
export class GenerationEventSubscriber {
  private redis?: Redis;
  private readonly listeners = new Map<string, Set<GenerationEventListener>>();

  constructor(private readonly connection: QueueConnection) {}

  /** Resolves once Redis confirms the subscription; the returned function unsubscribes. */
  async subscribe(generationId: string, listener: GenerationEventListener): Promise<() => void> {
    const redis = this.connect();
    const channel = channelFor(this.connection, generationId);
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    // Commands on one connection run in order, so an UNSUBSCRIBE still in flight cannot undo this.
    await redis.subscribe(channel);
    return () => {
      const current = this.listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      redis.unsubscribe(channel).catch(() => {});
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.redis?.quit();
    this.redis = undefined;
  }

  private connect(): Redis {
    if (this.redis) return this.redis;
    const redis = createRedis(this.connection);
    redis.on('message', (channel: string, message: string) => {
      const set = this.listeners.get(channel);
      if (!set) return;
      let event: GenerationEvent;
      try {
        event = JSON.parse(message) as GenerationEvent;
      } catch {
        return;
      }
      for (const listener of set) listener(event);
    });
    this.redis = redis;
    return redis;
  }
}
