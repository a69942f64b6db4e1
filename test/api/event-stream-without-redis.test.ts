import type { GenerationStreamEvent } from '@chorus/client';
import { GenerationRepository } from '@chorus/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDedicatedRedis, type DedicatedRedis } from '../ops/dedicated-redis';
import { useApi } from './api-under-test';

// The API gets a Redis of its own, so this file can take it away without touching anyone else's.
let redis: DedicatedRedis;
const env: NodeJS.ProcessEnv = {};
beforeAll(async () => {
  redis = await startDedicatedRedis();
  env.REDIS_URL = redis.url;
});
// Registered before useApi, so it runs after the API has closed.
afterAll(async () => {
  await redis?.stop();
});
const api = useApi('sse-no-redis', env);

describe('GET /v1/generations/:id/events while Redis is unreachable', () => {
  it('still starts with the current state and ends when the row reaches a terminal status', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'during an outage', seconds_total: 1 });
    await redis.stop();
    try {
      const opened = Date.now();
      const events: (GenerationStreamEvent & { at: number })[] = [];
      for await (const event of api.tenantA.client.streamEvents(generation.id, { signal: AbortSignal.timeout(30_000) })) {
        events.push({ ...event, at: Date.now() - opened });
        // A worker finishing the generation would write the row; no event can be published.
        if (events.length === 1) await new GenerationRepository(api.db.prisma).markCanceled(generation.id);
      }
      expect(events.map((e) => `${e.event}:${e.data.status}`)).toEqual(['status:queued', 'status:canceled']);
      expect(events[0].at).toBeLessThan(5_000);
      expect(events[1].at).toBeLessThan(15_000);
    } finally {
      await redis.start();
    }
  });
});
