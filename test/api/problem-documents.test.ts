/**
 * Every refusal is a problem document that says what is wrong and what is allowed, in the API's own
 * words: never a library's wording, an empty body, "undefined", or a range that depends on how a
 * value was wrong.
 */
import { request as httpRequest } from 'node:http';
import type { ProblemDocument } from '@chorus/contracts';
import { describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

const api = useApi('problem_documents');

async function send(path: string, body: string | Uint8Array<ArrayBuffer> | FormData, headers: Record<string, string> = {}) {
  const response = await fetch(`${api.url}${path}`, { method: 'POST', headers: { ...api.auth(api.tenantA), ...headers }, body });
  const text = await response.text();
  expect(response.headers.get('content-type'), text).toMatch(/^application\/problem\+json/);
  return { status: response.status, problem: JSON.parse(text) as ProblemDocument };
}

const json = { 'content-type': 'application/json' };

describe('problem documents say what is wrong and what is allowed', () => {
  it('seconds_start of -1 and of 33 name the same range', async () => {
    const low = await send('/v1/generations', JSON.stringify({ prompt: 'a pad', seconds_start: -1 }), json);
    const high = await send('/v1/generations', JSON.stringify({ prompt: 'a pad', seconds_start: 33 }), json);
    const { data } = await api.tenantA.client.listModels();
    const range = `must be a number from 0 to ${data[0].seconds_start_max} (the model's timing range)`;
    expect(low.problem.errors).toEqual([{ field: 'seconds_start', message: range }]);
    expect(high.problem.errors).toEqual([{ field: 'seconds_start', message: range }]);
  });

  it('a prompt of the wrong type is not called missing', async () => {
    for (const prompt of [5, null, ['a pad'], { text: 'a pad' }]) {
      const { problem } = await send('/v1/generations', JSON.stringify({ prompt }), json);
      expect(problem.errors, JSON.stringify(prompt)).toEqual([{ field: 'prompt', message: 'must be a string of at most 2000 characters' }]);
    }
    const missing = await send('/v1/generations', JSON.stringify({ seed: 1 }), json);
    expect(missing.problem.errors).toEqual([{ field: 'prompt', message: 'is required: must be a string of at most 2000 characters' }]);
  });

  it('valid JSON that is not an object ("x", null, 5) is asked to be an object, not called unparseable', async () => {
    for (const path of ['/v1/generations', '/v1/batches']) {
      for (const body of ['"x"', 'null', '5']) {
        const { status, problem } = await send(path, body, json);
        expect(status, `${path} ${body}`).toBe(400);
        expect(problem.code).toBe('validation_error');
        expect(problem.errors).toEqual([{ field: 'body', message: 'must be a JSON object' }]);
      }
    }
  });

  it('a body without a Content-Type says so, not "undefined"', async () => {
    const { status, problem } = await send('/v1/generations', new TextEncoder().encode('{"prompt":"a pad"}'));
    expect(status).toBe(415);
    expect(problem.detail).toBe('send the body as application/json, not without a Content-Type');
  });

  it('an unsupported charset or Content-Encoding names what is allowed', async () => {
    const latin1 = await send('/v1/generations', '{"prompt":"a pad"}', { 'content-type': 'application/json; charset=latin1' });
    expect(latin1.status).toBe(415);
    expect(latin1.problem.detail).toBe("the body's charset must be utf-8, not latin1");
    const compress = await send('/v1/generations', '{"prompt":"a pad"}', { ...json, 'content-encoding': 'compress' });
    expect(compress.status).toBe(415);
    expect(compress.problem.detail).toBe('Content-Encoding must be identity, gzip, deflate or br, not compress');
    const brokenGzip = await send('/v1/generations', '{"prompt":"a pad"}', { ...json, 'content-encoding': 'gzip' });
    expect(brokenGzip.status).toBe(400);
    expect(brokenGzip.problem.detail).toMatch(/^the body could not be read/);
  });

  it("multipart mistakes are told in the API's words, naming the field to use", async () => {
    const wrongField = new FormData();
    wrongField.append('upload', new Blob(['prompt\na pad\n'], { type: 'text/csv' }), 'rows.csv');
    const { status, problem } = await send('/v1/batches', wrongField);
    expect(status).toBe(400);
    expect(problem.errors).toEqual([{ field: 'upload', message: expect.stringMatching(/^is not expected: a multipart batch is one file in the field "file"/) }]);
    expect(JSON.stringify(problem)).not.toMatch(/Unexpected/);

    const twoFiles = new FormData();
    twoFiles.append('file', new Blob(['prompt\na pad\n'], { type: 'text/csv' }), 'a.csv');
    twoFiles.append('file', new Blob(['prompt\na pad\n'], { type: 'text/csv' }), 'b.csv');
    const two = await send('/v1/batches', twoFiles);
    expect(two.status).toBe(400);
    expect(two.problem.errors?.[0].message).toMatch(/one file in the field "file"/);

    const cut = await send('/v1/batches', '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nprompt\n', {
      'content-type': 'multipart/form-data; boundary=xyz',
    });
    expect(cut.status).toBe(400);
    expect(cut.problem.errors?.[0]).toMatchObject({ field: 'body', message: expect.stringMatching(/^is not a complete multipart\/form-data body/) });
  });

  it('counts rows in good English: "1 of 1 row is not valid"', async () => {
    const one = await send('/v1/batches', JSON.stringify({ items: [{ prompt: 'a pad', steps: 0 }] }), json);
    expect(one.problem.detail).toMatch(/^1 of 1 row is not valid; nothing was created/);
    const two = await send('/v1/batches', JSON.stringify({ items: [{ prompt: 'a', steps: 0 }, { prompt: 'b', steps: 0 }, { prompt: 'c' }] }), json);
    expect(two.problem.detail).toMatch(/^2 of 3 rows are not valid; nothing was created/);
  });

  it('headers over the limit answer 431 with a problem document, not an empty body', async () => {
    const url = new URL(api.url);
    const answer = await new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: '/v1/models', headers: { ...api.auth(api.tenantA), 'x-padding': 'x'.repeat(64 * 1024) } },
        (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'], body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(431);
    expect(answer.type).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 431, code: 'headers_too_large', detail: expect.stringMatching(/headers may be at most \d+ bytes/) });
  });
});
