import type { GenerationStreamEvent } from '@chorus/client';
import { GenerationRepository } from '@chorus/db';
import { GenerationEventPublisher } from '@chorus/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

const api = useApi('events');
let publisher: GenerationEventPublisher;

beforeAll(() => {
  publisher = new GenerationEventPublisher({ redisUrl: api.config.REDIS_URL, prefix: api.config.BULLMQ_PREFIX });
});
afterAll(async () => {
  await publisher?.close();
});

/** Collects a generation's SSE events until the stream ends; `whenOpen` runs once the first event arrived. */
async function collect(id: string, whenOpen: () => Promise<void> = async () => {}): Promise<GenerationStreamEvent[]> {
  const events: GenerationStreamEvent[] = [];
  for await (const event of api.tenantA.client.streamEvents(id, { signal: AbortSignal.timeout(20_000) })) {
    events.push(event);
    if (events.length === 1) void whenOpen();
  }
  return events;
}

describe('GET /v1/generations/:id/events', () => {
  it('is a text/event-stream whose first event is the current state', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'a slow swell', seconds_total: 1 });
    const controller = new AbortController();
    const response = await fetch(`${api.url}/v1/generations/${generation.id}/events`, {
      headers: api.auth(api.tenantA),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    const text = new TextDecoder().decode(value);
    expect(text).toMatch(/^event: status\ndata: \{.*\}\n\n/);
    const data = JSON.parse(text.split('\n')[1].slice('data: '.length));
    expect(data).toMatchObject({ id: generation.id, status: 'queued', progress: 0 });
    controller.abort();
  });

  it('relays the worker’s progress and ends after the terminal status', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'a plucked arp', seconds_total: 1, steps: 4 });
    const repository = new GenerationRepository(api.db.prisma);
    const events = await collect(generation.id, async () => {
      // Play the worker: running, four sampler steps, then succeeded.
      await repository.markRunning(generation.id, { workerId: 'test-worker', modelName: 'chorus-tiny', modelVersion: 'test' });
      await publisher.publish({ id: generation.id, status: 'running', progress: 0, step: 0, steps: 4 });
      for (let step = 1; step <= 4; step += 1) {
        await publisher.publish({ id: generation.id, status: 'running', progress: step / 4, step, steps: 4 });
      }
      await publisher.publish({ id: generation.id, status: 'succeeded', progress: 1 });
    });

    expect(events.map((e) => [e.event, e.data.status, e.data.step ?? null])).toEqual([
      ['status', 'queued', null],
      ['status', 'running', 0],
      ['progress', 'running', 1],
      ['progress', 'running', 2],
      ['progress', 'running', 3],
      ['progress', 'running', 4],
      ['status', 'succeeded', null],
    ]);
    expect(events.every((e) => e.data.id === generation.id)).toBe(true);
  });

  it('sends a canceled status when a queued generation is canceled, then ends', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'never mind', seconds_total: 1 });
    const events = await collect(generation.id, async () => {
      await api.tenantA.client.cancelGeneration(generation.id);
    });
    expect(events.map((e) => `${e.event}:${e.data.status}`)).toEqual(['status:queued', 'status:canceled']);
  });

  it('sends one terminal event and ends at once for a finished generation', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'already over', seconds_total: 1 });
    await api.tenantA.client.cancelGeneration(generation.id);
    const events = await collect(generation.id);
    expect(events.map((e) => `${e.event}:${e.data.status}`)).toEqual(['status:canceled']);
  });

  it('notices a terminal status from the database when its event was lost', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'a lost event', seconds_total: 1 });
    const repository = new GenerationRepository(api.db.prisma);
    const started = Date.now();
    const events = await collect(generation.id, async () => {
      // The row changes but nothing is published, as when a worker's Redis connection dropped.
      await repository.markCanceled(generation.id);
    });
    expect(events.map((e) => `${e.event}:${e.data.status}`)).toEqual(['status:queued', 'status:canceled']);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
