/** Input the API does not use is refused with a 400 naming it, or honoured; never silently dropped. */
import type { ProblemDocument } from '@chorus/contracts';
import { describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

const api = useApi('refused_input');

async function post(path: string, body?: string | FormData, headers: Record<string, string> = {}) {
  const response = await fetch(`${api.url}${path}`, { method: 'POST', headers: { ...api.auth(api.tenantA), ...headers }, body });
  return { response, json: (await response.json()) as ProblemDocument & Record<string, unknown> };
}

const json = { 'content-type': 'application/json' };

describe('batches', () => {
  it('refuses an unknown multipart field, naming it', async () => {
    const form = new FormData();
    form.append('file', new Blob(['prompt\na pad\n'], { type: 'text/csv' }), 'rows.csv');
    form.append('colour', 'blue');
    const { response, json: problem } = await post('/v1/batches', form);
    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ field: 'colour', message: 'is not a known field' }]);
  });

  it('refuses a multipart form without its file, naming the field', async () => {
    const form = new FormData();
    form.append('priority', '9');
    const { response, json: problem } = await post('/v1/batches', form);
    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ field: 'file', message: expect.stringMatching(/^is required/) }]);
  });

  it('refuses an option given both as a form field and in the query string', async () => {
    const form = new FormData();
    form.append('file', new Blob(['prompt\na pad\n'], { type: 'text/csv' }), 'rows.csv');
    form.append('priority', '9');
    const { response, json: problem } = await post('/v1/batches?priority=8', form);
    expect(response.status).toBe(400);
    expect(problem.errors?.[0]).toMatchObject({ field: 'priority', message: expect.stringMatching(/give it once/) });
  });

  it('refuses an unknown query parameter on a CSV body', async () => {
    const { response, json: problem } = await post('/v1/batches?colour=blue', 'prompt\na pad\n', { 'content-type': 'text/csv' });
    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ field: 'query.colour', message: 'is not a known field' }]);
  });

  it('refuses ?priority=8 on a JSON batch instead of ignoring it, saying where it goes', async () => {
    const { response, json: problem } = await post('/v1/batches?priority=8', JSON.stringify({ items: [{ prompt: 'a pad' }] }), json);
    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ field: 'query.priority', message: expect.stringMatching(/put webhook_url and priority in the body/) }]);
    expect(await api.db.prisma.batch.count()).toBe(0);
  });

  it('honours the multipart form fields it knows', async () => {
    const form = new FormData();
    form.append('file', new Blob(['prompt\na pad\n'], { type: 'text/csv' }), 'rows.csv');
    form.append('priority', '9');
    const { response, json: batch } = await post('/v1/batches', form);
    expect(response.status).toBe(202);
    const rows = await api.db.prisma.generation.findMany({ where: { batchId: batch.id as string } });
    expect(rows.map((row) => row.priority)).toEqual([9]);
  });
});

describe('rerun', () => {
  async function original() {
    return api.tenantA.client.createGeneration({ prompt: 'a rerun source', seconds_total: 1, seed: 11, output_format: 'wav' });
  }

  it('honours output_format, priority and webhook_url in its body', async () => {
    const source = await original();
    const { response, json: rerun } = await post(`/v1/generations/${source.id}/rerun`, JSON.stringify({ output_format: 'mp3', priority: 9 }), json);
    expect(response.status).toBe(202);
    expect(rerun).toMatchObject({ output_format: 'mp3', priority: 9, seed: 11, prompt: 'a rerun source' });
    expect(rerun.id).not.toBe(source.id);
  });

  it('still reruns with no body at all', async () => {
    const source = await original();
    const { response, json: rerun } = await post(`/v1/generations/${source.id}/rerun`);
    expect(response.status).toBe(202);
    expect(rerun).toMatchObject({ output_format: 'wav', seed: 11 });
  });

  it('refuses a field that would change the audio, naming it and what a rerun may set', async () => {
    const source = await original();
    const { response, json: problem } = await post(`/v1/generations/${source.id}/rerun`, JSON.stringify({ seed: 3, output_format: 'ogg' }), json);
    expect(response.status).toBe(400);
    const byField = new Map(problem.errors?.map((error) => [error.field, error.message]));
    expect(byField.get('seed')).toMatch(/cannot change on a rerun.*only output_format, priority and webhook_url/);
    expect(byField.get('output_format')).toBe('must be one of wav, flac, mp3');
  });

  it('honours Idempotency-Key: a retry returns the same new generation', async () => {
    const source = await original();
    const headers = { ...json, 'idempotency-key': `rerun-${source.id}` };
    const before = await api.db.prisma.generation.count();
    const first = await post(`/v1/generations/${source.id}/rerun`, '{}', headers);
    const again = await post(`/v1/generations/${source.id}/rerun`, '{}', headers);
    expect(first.response.status).toBe(202);
    expect(again.response.status).toBe(200);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.id).toBe(first.json.id);
    expect(await api.db.prisma.generation.count()).toBe(before + 1);
  });
});
