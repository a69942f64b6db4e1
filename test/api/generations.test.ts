import { ChorusApiError } from '@chorus/client';
import { GenerationRepository } from '@chorus/db';
import { samplersForObjective } from '@chorus/contracts';
import { readManifest, secondsTotalRange } from '@chorus/inference';
import { GenerationQueue } from '@chorus/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

const api = useApi('generations');
let queue: GenerationQueue;

beforeAll(() => {
  queue = new GenerationQueue({ redisUrl: api.config.REDIS_URL, prefix: api.config.BULLMQ_PREFIX });
});
afterAll(async () => {
  await queue?.close();
});

async function apiError(promise: Promise<unknown>): Promise<ChorusApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChorusApiError);
  return error as ChorusApiError;
}

describe('GET /v1/models', () => {
  it("describes the served model from its manifest", async () => {
    const manifest = await readManifest(api.config.MODEL_DIR);
    const { data } = await api.tenantA.client.listModels();
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({
      name: manifest.name,
      version: manifest.version,
      sample_rate: manifest.sample_rate,
      channels: manifest.channels,
      window_seconds: secondsTotalRange(manifest).max,
      seconds_total_min: secondsTotalRange(manifest).min,
      defaults: { steps: manifest.defaults.steps, sampler: manifest.defaults.sampler, cfg_scale: manifest.defaults.cfg_scale },
      samplers: [...samplersForObjective(manifest.diffusion.objective)],
    });
  });
});

describe('POST /v1/generations', () => {
  it('answers 202 with the row written, defaults from the model and a seed chosen now', async () => {
    const manifest = await readManifest(api.config.MODEL_DIR);
    const response = await fetch(`${api.url}/v1/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...api.auth(api.tenantA) },
      body: JSON.stringify({ prompt: 'a warm analog pad in C minor', seconds_total: 3 }),
    });
    expect(response.status).toBe(202);
    const generation = await response.json();
    expect(response.headers.get('location')).toBe(`/v1/generations/${generation.id}`);
    expect(generation).toMatchObject({
      status: 'queued',
      progress: 0,
      prompt: 'a warm analog pad in C minor',
      seconds_start: 0,
      seconds_total: 3,
      steps: manifest.defaults.steps,
      sampler: manifest.defaults.sampler,
      cfg_scale: manifest.defaults.cfg_scale,
      output_format: 'wav',
      model: { name: manifest.name, version: manifest.version },
      audio: null,
      error: null,
      started_at: null,
      finished_at: null,
      timings_ms: { queue: null, inference: null, encode: null, upload: null, total: null },
    });
    expect(Number.isInteger(generation.seed) && generation.seed >= 0 && generation.seed <= 0xffffffff).toBe(true);

    const row = await new GenerationRepository(api.db.prisma).findById(generation.id);
    expect(row).toMatchObject({ tenantId: api.tenantA.id, seed: generation.seed, status: 'queued', secondsTotal: 3 });
  });

  it('queues one BullMQ job whose id is the generation id', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'a snare roll', seconds_total: 2, seed: 7 });
    const job = await queue.getJob(generation.id);
    expect(job?.id).toBe(generation.id);
    expect(job?.data).toEqual({ generationId: generation.id, tenantId: api.tenantA.id });
    // Waiting for a worker: `prioritized` is BullMQ's waiting state for jobs with a priority.
    expect(['waiting', 'prioritized']).toContain(await job?.getState());
  });

  it('defaults seconds_total to the whole window', async () => {
    const { data } = await api.tenantA.client.listModels();
    const generation = await api.tenantA.client.createGeneration({ prompt: 'rain on a tin roof' });
    expect(generation.seconds_total).toBe(data[0].window_seconds);
  });

  it('keeps every parameter asked for', async () => {
    const body = {
      prompt: 'a 120 bpm techno kick',
      negative_prompt: 'noise',
      seconds_start: 1,
      seconds_total: 2.5,
      steps: 12,
      cfg_scale: 3.5,
      sampler: 'euler' as const,
      seed: 4_000_000_000,
      output_format: 'flac' as const,
      priority: 7,
      webhook_url: 'https://example.com/hooks/chorus',
    };
    const generation = await api.tenantA.client.createGeneration(body);
    expect(generation).toMatchObject(body);
    expect(await api.tenantA.client.getGeneration(generation.id)).toMatchObject(body);
  });

  it('returns the same generation for a repeated Idempotency-Key, with 200', async () => {
    const first = await api.tenantA.client.createGeneration({ prompt: 'a bell' }, { idempotencyKey: 'bell-1' });
    const response = await fetch(`${api.url}/v1/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'bell-1', ...api.auth(api.tenantA) },
      body: JSON.stringify({ prompt: 'a bell' }),
    });
    expect(response.status).toBe(200);
    expect((await response.json()).id).toBe(first.id);
    // Another tenant's identical key is its own.
    const other = await api.tenantB.client.createGeneration({ prompt: 'a bell' }, { idempotencyKey: 'bell-1' });
    expect(other.id).not.toBe(first.id);
  });
});

describe('GET /v1/generations/:id', () => {
  it("answers 404 for an unknown id, a malformed id and another tenant's generation", async () => {
    const mine = await api.tenantA.client.createGeneration({ prompt: 'a cello drone', seconds_total: 1 });
    for (const [client, id] of [
      [api.tenantA.client, '00000000-0000-4000-8000-000000000000'],
      [api.tenantA.client, 'not-an-id'],
      [api.tenantB.client, mine.id],
    ] as const) {
      const error = await apiError(client.getGeneration(id));
      expect(error.status).toBe(404);
      expect(error.problem.code).toBe('not_found');
    }
    for (const path of ['', '/events', '/audio']) {
      const response = await fetch(`${api.url}/v1/generations/${mine.id}${path}`, { headers: api.auth(api.tenantB) });
      expect(response.status).toBe(404);
    }
    expect((await apiError(api.tenantB.client.cancelGeneration(mine.id))).status).toBe(404);
    expect((await api.tenantA.client.getGeneration(mine.id)).status).toBe('queued');
  });
});

describe('GET /v1/generations', () => {
  it('pages through everything newest first, without duplicates, following next_cursor', async () => {
    const tenant = api.tenantB.client;
    const before = (await tenant.listGenerations({ limit: 100 })).data.map((g) => g.id);
    const created: string[] = [];
    for (let i = 0; i < 5; i += 1) created.push((await tenant.createGeneration({ prompt: `page item ${i}`, seconds_total: 1 })).id);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await tenant.listGenerations(cursor ? { limit: 2, cursor } : { limit: 2 });
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((g) => g.id));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor);
    expect(seen).toEqual([...created.reverse(), ...before]);
    expect(pages).toBe(Math.ceil(seen.length / 2));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('lists only the tenant’s own generations', async () => {
    const idsOfB = new Set((await api.db.prisma.generation.findMany({ where: { tenantId: api.tenantB.id } })).map((g) => g.id));
    for await (const generation of api.tenantA.client.iterateGenerations({ limit: 3 })) {
      expect(idsOfB.has(generation.id)).toBe(false);
    }
  });

  it('filters by status and by prompt text', async () => {
    const client = api.tenantA.client;
    const pad = await client.createGeneration({ prompt: 'Filter Me: a glassy PAD', seconds_total: 1 });
    const canceled = await client.createGeneration({ prompt: 'filter me: a canceled one', seconds_total: 1 });
    await client.cancelGeneration(canceled.id);

    const byText = await client.listGenerations({ q: 'glassy pad' });
    expect(byText.data.map((g) => g.id)).toEqual([pad.id]);
    const byStatus = await client.listGenerations({ status: 'canceled', limit: 100 });
    expect(byStatus.data.map((g) => g.id)).toContain(canceled.id);
    expect(byStatus.data.every((g) => g.status === 'canceled')).toBe(true);
    const both = await client.listGenerations({ status: 'queued', q: 'filter me' });
    expect(both.data.map((g) => g.id)).toEqual([pad.id]);
    const either = await client.listGenerations({ status: 'queued,canceled', q: 'filter me' });
    expect(either.data.map((g) => g.id)).toEqual([canceled.id, pad.id]);
  });

  it('matches %, _ and \\ in q as the characters themselves, not as SQL wildcards', async () => {
    const tenant = api.tenantB.client;
    const percent = await tenant.createGeneration({ prompt: 'wildcards: 100% wet reverb', seconds_total: 1 });
    const underscore = await tenant.createGeneration({ prompt: 'wildcards: snake_case pad', seconds_total: 1 });
    const backslash = await tenant.createGeneration({ prompt: 'wildcards: back\\slash', seconds_total: 1 });
    await tenant.createGeneration({ prompt: 'wildcards: plain text', seconds_total: 1 });
    const ids = async (q: string) => (await tenant.listGenerations({ q, limit: 100 })).data.map((g) => g.id);
    expect(await ids('%')).toEqual([percent.id]);
    expect(await ids('_')).toEqual([underscore.id]);
    expect(await ids('\\')).toEqual([backslash.id]);
    expect(await ids('0% W')).toEqual([percent.id]);
    expect(await ids('e_c')).toEqual([underscore.id]);
    expect(await ids('wildcards%plain')).toEqual([]);
  });

  it('lists one batch in row order (batch_index), page after page', async () => {
    const items = Array.from({ length: 12 }, (_, i) => ({ prompt: `ordered row ${i + 1}`, seconds_total: 1 }));
    const response = await fetch(`${api.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...api.auth(api.tenantB) },
      body: JSON.stringify({ items }),
    });
    expect(response.status).toBe(202);
    const batch = (await response.json()) as { id: string };
    const seen: (number | null)[] = [];
    let cursor: string | null = null;
    do {
      const page = await api.tenantB.client.listGenerations({ batch_id: batch.id, limit: 5, ...(cursor ? { cursor } : {}) });
      seen.push(...page.data.map((g) => g.batch_index));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(items.map((_, i) => i + 1));
    const prompts = (await api.tenantB.client.listGenerations({ batch_id: batch.id, limit: 100 })).data.map((g) => g.prompt);
    expect(prompts).toEqual(items.map((item) => item.prompt));
  });

  it('refuses a newest-first cursor on a batch listing with a 400', async () => {
    const page = await api.tenantB.client.listGenerations({ limit: 1 });
    expect(page.next_cursor).not.toBeNull();
    const batch = (await api.db.prisma.batch.findFirstOrThrow({ where: { tenantId: api.tenantB.id } })).id;
    const error = await apiError(api.tenantB.client.listGenerations({ batch_id: batch, cursor: page.next_cursor! }));
    expect(error.status).toBe(400);
    expect(error.problem.errors?.[0].field).toBe('cursor');
  });
});

describe('POST /v1/generations/:id/cancel', () => {
  it('cancels a queued generation at once and removes its job', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'to be canceled', seconds_total: 1 });
    expect(await queue.getJob(generation.id)).toBeDefined();
    const response = await fetch(`${api.url}/v1/generations/${generation.id}/cancel`, { method: 'POST', headers: api.auth(api.tenantA) });
    expect(response.status).toBe(200);
    const canceled = await response.json();
    expect(canceled).toMatchObject({ id: generation.id, status: 'canceled' });
    expect(canceled.finished_at).not.toBeNull();
    expect(await queue.getJob(generation.id)).toBeUndefined();
    // Canceling again changes nothing.
    expect((await api.tenantA.client.cancelGeneration(generation.id)).status).toBe('canceled');
  });

  it('asks the worker holding a running generation to stop, and answers 202', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'running when canceled', seconds_total: 1 });
    const repository = new GenerationRepository(api.db.prisma);
    // Play the worker's part: take the generation, listen for cancels as every worker does.
    await queue.remove(generation.id);
    await repository.markRunning(generation.id, { workerId: 'test-worker', modelName: 'chorus-tiny', modelVersion: 'test' });
    const { CancelBroadcast } = await import('@chorus/queue');
    const broadcast = new CancelBroadcast({ redisUrl: api.config.REDIS_URL, prefix: api.config.BULLMQ_PREFIX });
    const heard = new Promise<string>((resolve) => void broadcast.subscribe(resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      const response = await fetch(`${api.url}/v1/generations/${generation.id}/cancel`, { method: 'POST', headers: api.auth(api.tenantA) });
      expect(response.status).toBe(202);
      expect((await response.json()).status).toBe('running');
      expect(await heard).toBe(generation.id);
      const row = await repository.findById(generation.id);
      expect(row?.cancelRequestedAt).not.toBeNull();
    } finally {
      await broadcast.close();
    }
  });

  it('refuses to cancel a generation that already succeeded, with 409', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'already done', seconds_total: 1 });
    await finishWithAudio(generation.id, new Uint8Array([1, 2, 3]));
    const error = await apiError(api.tenantA.client.cancelGeneration(generation.id));
    expect(error.status).toBe(409);
    expect(error.problem.code).toBe('not_cancelable');
  });
});

describe('GET /v1/generations/:id/audio', () => {
  it('answers 409 while the generation has no audio', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'not yet', seconds_total: 1 });
    const response = await fetch(`${api.url}/v1/generations/${generation.id}/audio`, { headers: api.auth(api.tenantA), redirect: 'manual' });
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ code: 'audio_not_ready' });
  });

  it('redirects to a presigned URL that serves the object, once succeeded', async () => {
    const bytes = new Uint8Array([82, 73, 70, 70, 0, 1, 2, 3]);
    const generation = await api.tenantA.client.createGeneration({ prompt: 'done', seconds_total: 1 });
    await finishWithAudio(generation.id, bytes);

    const response = await fetch(`${api.url}/v1/generations/${generation.id}/audio`, { headers: api.auth(api.tenantA), redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = response.headers.get('location')!;
    expect(location).toContain('X-Amz-Signature=');
    const object = await fetch(location);
    expect(new Uint8Array(await object.arrayBuffer())).toEqual(bytes);

    const resource = await api.tenantA.client.getGeneration(generation.id);
    expect(resource.status).toBe('succeeded');
    expect(resource.audio).toMatchObject({ format: 'wav', bytes: bytes.length, seconds: 1, sample_rate: 44100, channels: 2 });
    expect(resource.timings_ms).toMatchObject({ inference: 10, encode: 2, upload: 3 });
    expect(resource.timings_ms.total).toBeGreaterThanOrEqual(0);
    expect(await api.tenantA.client.downloadAudio(generation.id)).toEqual(bytes);
  });
});

/** Plays the worker's part for a generation: its object lands in S3, then the row succeeds. */
async function finishWithAudio(id: string, bytes: Uint8Array): Promise<void> {
  const repository = new GenerationRepository(api.db.prisma);
  const row = (await repository.findById(id))!;
  const key = `generations/${row.tenantId}/${id}.wav`;
  await api.s3.putObject(key, bytes);
  await queue.remove(id);
  await repository.markRunning(id, { workerId: 'test-worker', modelName: 'chorus-tiny', modelVersion: 'test' });
  await repository.markSucceeded(id, {
    outputKey: key,
    outputBytes: bytes.length,
    outputSeconds: 1,
    sampleRate: 44100,
    channels: 2,
    inferenceMs: 10,
    encodeMs: 2,
    uploadMs: 3,
  });
}
