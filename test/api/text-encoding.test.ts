/**
 * Text is stored as given (SECURITY.md): a body whose bytes are not UTF-8, or a JSON string with an
 * unpaired surrogate, is refused with a 400 naming what is wrong, never stored with U+FFFD in its place.
 */
import type { ProblemDocument } from '@chorus/contracts';
import { describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

const api = useApi('text_encoding');

async function post(path: string, body: Buffer | string | FormData, contentType?: string) {
  const response = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { ...(contentType ? { 'content-type': contentType } : {}), ...api.auth(api.tenantA) },
    body: Buffer.isBuffer(body) ? new Uint8Array(body) : body,
  });
  return { status: response.status, type: response.headers.get('content-type'), problem: (await response.json()) as ProblemDocument };
}

const withBytes = (before: string, bytes: number[], after: string) => Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);

describe('invalid UTF-8 and unpaired surrogates are a 400, nothing stored', () => {
  it('bytes FF FE in a generation prompt', async () => {
    const answer = await post('/v1/generations', withBytes('{"prompt":"a pad ', [0xff, 0xfe], '"}'), 'application/json');
    expect(answer.status).toBe(400);
    expect(answer.type).toMatch(/^application\/problem\+json/);
    expect(answer.problem.errors).toEqual([{ field: 'body', message: expect.stringMatching(/^must be UTF-8 text/) }]);
  });

  it('a lone \\ud800 escape in a prompt or a negative prompt', async () => {
    for (const field of ['prompt', 'negative_prompt']) {
      const body = `{"prompt":"a pad","${field}":"a pad \\ud800 here"}`;
      const answer = await post('/v1/generations', body, 'application/json');
      expect(answer.status, body).toBe(400);
      expect(answer.problem.errors).toEqual([{ field, message: expect.stringMatching(/unpaired surrogate/) }]);
    }
  });

  it('a lone low surrogate \\udc00, and a high surrogate at the very end', async () => {
    for (const text of ['\\udc00 x', 'x \\ud83c']) {
      const answer = await post('/v1/generations', `{"prompt":"${text}"}`, 'application/json');
      expect(answer.status, text).toBe(400);
      expect(answer.problem.errors?.[0].field).toBe('prompt');
    }
  });

  it('invalid bytes in a JSON batch, a CSV body, a JSONL body and a multipart file', async () => {
    const json = await post('/v1/batches', withBytes('{"items":[{"prompt":"', [0xc3, 0x28], '"}]}'), 'application/json');
    expect(json.status).toBe(400);
    expect(json.problem.errors?.[0].field).toBe('body');
    const csv = await post('/v1/batches', withBytes('prompt\n"a ', [0xff], ' pad"\n'), 'text/csv');
    expect(csv.status).toBe(400);
    expect(csv.problem.errors?.[0].field).toBe('body');
    const jsonl = await post('/v1/batches', withBytes('{"prompt":"', [0xed, 0xa0, 0x80], '"}\n'), 'application/x-ndjson');
    expect(jsonl.status).toBe(400);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(withBytes('prompt\n"a ', [0xfe], '"\n'))], { type: 'text/csv' }), 'rows.csv');
    const multipart = await post('/v1/batches', form);
    expect(multipart.status).toBe(400);
    expect(multipart.problem.errors).toEqual([{ field: 'file', message: expect.stringMatching(/^must be UTF-8 text/) }]);
  });

  it('a JSONL row with an unpaired surrogate names its row and field', async () => {
    const answer = await post('/v1/batches', '{"prompt":"fine"}\n{"prompt":"bad \\ud800"}\n', 'application/x-ndjson');
    expect(answer.status).toBe(400);
    expect(answer.problem.errors).toEqual([{ row: 2, field: 'prompt', message: expect.stringMatching(/unpaired surrogate/) }]);
  });

  it('created nothing', async () => {
    expect(await api.db.prisma.generation.count()).toBe(0);
    expect(await api.db.prisma.batch.count()).toBe(0);
  });

  it('keeps valid text exactly as sent: multi-byte characters, a surrogate pair, and U+FFFD itself', async () => {
    const prompt = 'añejo 音 🎹 \ufffd pad';
    const answer = await fetch(`${api.url}/v1/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...api.auth(api.tenantA) },
      body: JSON.stringify({ prompt, seconds_total: 1 }),
    });
    expect(answer.status).toBe(202);
    const { id } = (await answer.json()) as { id: string };
    expect((await api.db.prisma.generation.findUniqueOrThrow({ where: { id } })).prompt).toBe(prompt);
  });
});
