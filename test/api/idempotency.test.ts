import { describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

const api = useApi('idempotency');

function post(path: string, key: string | undefined, body: unknown, tenant = api.tenantA): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}), ...api.auth(tenant) },
    body: JSON.stringify(body),
  });
}

async function generationsWithPrompt(prompt: string): Promise<number> {
  return api.db.prisma.generation.count({ where: { prompt } });
}

describe('Idempotency-Key', () => {
  it('creates one generation for twenty concurrent requests with one key, all answered with it', async () => {
    const body = { prompt: 'a concurrent choir', seconds_total: 1 };

    const responses = await Promise.all(Array.from({ length: 20 }, () => post('/v1/generations', 'choir-1', body)));
    const ids = await Promise.all(responses.map(async (response) => (await response.json()).id));

    expect(responses.every((response) => response.status === 202 || response.status === 200)).toBe(true);
    expect(responses.filter((response) => response.status === 202)).toHaveLength(1);
    expect(new Set(ids).size).toBe(1);
    expect(await generationsWithPrompt(body.prompt)).toBe(1);
    const jobs = await api.app.get((await import('@chorus/queue')).GenerationQueue).queue.getJobs(['prioritized', 'waiting']);
    expect(jobs.filter((job) => job.id === ids[0])).toHaveLength(1);
  });

  it('replays the original answer to a retry, marked as a replay', async () => {
    const body = { prompt: 'a replayed bell', seconds_total: 2, seed: 77 };
    const first = await post('/v1/generations', 'bell-replay', body);
    const retry = await post('/v1/generations', 'bell-replay', body);

    expect(first.status).toBe(202);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('location')).toBe(first.headers.get('location'));
    expect((await retry.json()).id).toBe((await first.json()).id);
  });

  it('treats JSON bodies with the same fields in another order as the same request', async () => {
    const first = await post('/v1/generations', 'ordered', { prompt: 'a harp', seconds_total: 1 });
    const retry = await post('/v1/generations', 'ordered', { seconds_total: 1, prompt: 'a harp' });

    expect(retry.status).toBe(200);
    expect((await retry.json()).id).toBe((await first.json()).id);
  });

  it('answers 409 when the key comes back with a different body, creating nothing', async () => {
    await post('/v1/generations', 'drum-1', { prompt: 'a snare drum', seconds_total: 1 });

    const conflict = await post('/v1/generations', 'drum-1', { prompt: 'a kick drum', seconds_total: 1 });

    expect(conflict.status).toBe(409);
    expect(conflict.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect((await conflict.json()).code).toBe('idempotency_key_reused');
    expect(await generationsWithPrompt('a kick drum')).toBe(0);
  });

  it('keeps keys per tenant', async () => {
    const body = { prompt: 'a shared key', seconds_total: 1 };
    const a = await (await post('/v1/generations', 'shared', body, api.tenantA)).json();
    const b = await (await post('/v1/generations', 'shared', body, api.tenantB)).json();

    expect(a.id).not.toBe(b.id);
  });

  it('frees the key of a request that failed validation, so the corrected request can use it', async () => {
    const bad = await post('/v1/generations', 'fix-me', { prompt: 'a flute', seconds_total: -1 });
    const good = await post('/v1/generations', 'fix-me', { prompt: 'a flute', seconds_total: 1 });

    expect(bad.status).toBe(400);
    expect(good.status).toBe(202);
  });

  it('forgets a key after 24 hours', async () => {
    const body = { prompt: 'an old request', seconds_total: 1 };
    const first = await (await post('/v1/generations', 'yesterday', body)).json();
    await api.db.prisma.idempotencyKey.updateMany({
      where: { key: 'yesterday' },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });

    const later = await post('/v1/generations', 'yesterday', { prompt: 'a new request', seconds_total: 1 });

    expect(later.status).toBe(202);
    expect((await later.json()).id).not.toBe(first.id);
  });

  it('refuses a malformed key with 400', async () => {
    const response = await post('/v1/generations', 'spaces are not allowed', { prompt: 'x' });
    expect(response.status).toBe(400);
    expect((await response.json()).errors[0].field).toBe('header.idempotency-key');
  });

  it('creates one batch for concurrent batch submissions with one key', async () => {
    const body = { items: [{ prompt: 'batch row one', seconds_total: 1 }, { prompt: 'batch row two', seconds_total: 1 }] };

    const responses = await Promise.all(Array.from({ length: 8 }, () => post('/v1/batches', 'batch-key', body)));
    const ids = new Set(await Promise.all(responses.map(async (response) => (await response.json()).id)));

    expect(ids.size).toBe(1);
    expect(await api.db.prisma.batch.count({ where: { tenantId: api.tenantA.id } })).toBe(1);
    expect(await generationsWithPrompt('batch row one')).toBe(1);
  });
});
