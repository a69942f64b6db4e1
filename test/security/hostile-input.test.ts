/**
 * Hostile input never earns a 500 and never takes the API down. Property-based tests (fast-check)
 * throw generated generation bodies, batch bodies, CSV uploads, raw bytes and query strings at the
 * running API: every answer is a 2xx, or a 4xx problem document. Then the specific cases: a 1 MB
 * prompt, invalid UTF-8 and NUL bytes, prototype-pollution keys, CSV formula injection, deeply
 * nested JSON, and a slow-loris client.
 */
import net from 'node:net';
import { isProblemDocument } from '@chorus/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useApi } from '../api/api-under-test';

const api = useApi('hostile');
const RUNS = Number(process.env.HOSTILE_INPUT_RUNS ?? 60);

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

async function send(method: string, path: string, body?: string | Uint8Array, contentType = 'application/json'): Promise<Answer> {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...api.auth(api.tenantA), ...(body === undefined ? {} : { 'content-type': contentType }) },
    body: typeof body === 'string' || body === undefined ? body : Buffer.from(body),
    redirect: 'manual',
    signal: AbortSignal.timeout(20_000),
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

/** 2xx, 3xx, or a 4xx problem document; never a 5xx. */
function expectHandled(answer: Answer, what: string): void {
  const context = `${what} → ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, context).toBeLessThan(500);
  if (answer.status >= 400) {
    expect(answer.contentType, context).toMatch(/^application\/problem\+json/);
    expect(isProblemDocument(JSON.parse(answer.text)), context).toBe(true);
  }
}

const numberish = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 53, Number.MAX_SAFE_INTEGER + 2),
  fc.string({ maxLength: 12 }),
  fc.constant(null),
  fc.boolean(),
);
const stringish = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), numberish, fc.constant(null));
/** Generation bodies: the real fields with good, bad and odd values, plus unknown keys. */
const generationBody = fc
  .record(
    {
      prompt: stringish,
      negative_prompt: stringish,
      seconds_start: numberish,
      seconds_total: numberish,
      steps: numberish,
      cfg_scale: numberish,
      sampler: fc.oneof(fc.constantFrom('euler', 'dpmpp-2m', 'dpmpp-3m-sde'), stringish),
      seed: numberish,
      output_format: fc.oneof(fc.constantFrom('wav', 'flac', 'mp3'), stringish),
      priority: numberish,
      webhook_url: fc.oneof(fc.webUrl(), stringish),
    },
    { requiredKeys: [] },
  )
  .chain((body) => fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }).map((extra) => ({ ...extra, ...body })));
/** Mostly-valid bodies, so that the accepting path is exercised as much as the refusing one. */
const plausibleBody = fc.record({
  prompt: fc.string({ minLength: 1, maxLength: 100 }),
  seconds_total: fc.double({ min: 0.5, max: 8, noNaN: true }),
  steps: fc.integer({ min: 1, max: 4 }),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
});

describe('property: generation bodies', () => {
  it('answers 2xx or a 4xx problem, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(generationBody, plausibleBody), async (body) => {
        expectHandled(await send('POST', '/v1/generations', JSON.stringify(body)), JSON.stringify(body).slice(0, 200));
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('answers raw bytes and arbitrary JSON with 4xx, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.json({ maxDepth: 4 })),
        fc.constantFrom('application/json', 'application/merge-patch+json', 'text/plain', 'application/json; charset=latin1', 'application/json; charset=utf-16'),
        async (body, contentType) => {
          expectHandled(await send('POST', '/v1/generations', body, contentType), `${contentType} ${String(body).slice(0, 100)}`);
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);
});

describe('property: batches', () => {
  it('JSON batch bodies answer 2xx or a 4xx problem', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ items: fc.array(fc.oneof(generationBody, plausibleBody), { maxLength: 4 }) }, { requiredKeys: [] }),
          fc.record({ items: fc.jsonValue({ maxDepth: 3 }), priority: numberish, webhook_url: stringish }, { requiredKeys: [] }),
        ),
        async (body) => {
          expectHandled(await send('POST', '/v1/batches', JSON.stringify(body)), JSON.stringify(body).slice(0, 200));
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('CSV uploads answer 2xx or a 4xx problem', async () => {
    const cell = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('"', '""', ',', '\n', '\r\n', '=1+1', '-1', '4', '0.5', 'euler'));
    const header = fc.oneof(
      fc.constant(['prompt', 'seconds_total', 'steps']),
      fc.shuffledSubarray(['prompt', 'negative_prompt', 'seconds_start', 'seconds_total', 'steps', 'cfg_scale', 'sampler', 'seed', 'output_format', '__proto__', 'x'], { minLength: 1 }),
      fc.array(fc.string({ maxLength: 10 }), { minLength: 1, maxLength: 4 }),
    );
    await fc.assert(
      fc.asyncProperty(header, fc.array(fc.array(cell, { maxLength: 5 }), { maxLength: 5 }), fc.boolean(), async (columns, rows, quoteAll) => {
        const quote = (value: string) => (quoteAll || /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
        const csv = [columns, ...rows].map((row) => row.map(quote).join(',')).join('\n');
        expectHandled(await send('POST', '/v1/batches', csv, 'text/csv'), csv.slice(0, 200));
        // The same bytes as a raw, unquoted file: broken quoting included.
        expectHandled(await send('POST', '/v1/batches', [columns, ...rows].map((row) => row.join(',')).join('\n'), 'text/csv'), 'raw csv');
      }),
      { numRuns: RUNS },
    );
  }, 180_000);
});

describe('property: query strings and ids', () => {
  it('list filters and path ids answer 2xx or a 4xx problem', async () => {
    const key = fc.oneof(fc.constantFrom('status', 'q', 'batch_id', 'limit', 'cursor', 'format', '__proto__', 'limit[]', 'status[0]'), fc.string({ maxLength: 10 }));
    const value = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('-1', '0', '1e9', 'NaN', 'succeeded', '%00', '%ff%fe'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, value), { maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 40 }), async (pairs, id) => {
        const query = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
        expectHandled(await send('GET', `/v1/generations?${query}`), `?${query}`);
        // Raw, unencoded-looking input as well (percent signs that decode to nothing valid).
        expectHandled(await send('GET', `/v1/generations?${query}&q=%E0%A4%A`), `?${query}&q=%E0%A4%A`);
        const path = encodeURIComponent(id);
        for (const route of [`/v1/generations/${path}`, `/v1/generations/${path}/audio`, `/v1/batches/${path}`, `/v1/batches/${path}/manifest?${query}`]) {
          expectHandled(await send('GET', route), route);
        }
        expectHandled(await send('POST', `/v1/generations/${path}/cancel`), `cancel ${path}`);
      }),
      { numRuns: RUNS },
    );
  }, 180_000);
});

describe('specific hostile inputs', () => {
  it('a 1 MB prompt: 413 over the body limit, 400 naming prompt under it', async () => {
    const tooLarge = await send('POST', '/v1/generations', JSON.stringify({ prompt: 'a'.repeat(1024 * 1024) }));
    expect(tooLarge.status).toBe(413);
    expectHandled(tooLarge, '1 MB prompt');
    const large = await send('POST', '/v1/generations', JSON.stringify({ prompt: 'a'.repeat(1000 * 1000) }));
    expect(large.status, large.text.slice(0, 200)).toBe(400);
    expect(JSON.parse(large.text).errors.map((e: { field: string }) => e.field)).toContain('prompt');
  });

  it('invalid UTF-8 in the body is a 400', async () => {
    const bytes = Buffer.concat([Buffer.from('{"prompt":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('","steps":1}')]);
    const answer = await send('POST', '/v1/generations', bytes);
    expectHandled(answer, 'invalid utf-8');
    // Refused: text is stored as given, never with U+FFFD in place of what was sent.
    expect(answer.status).toBe(400);
  });

  it('NUL bytes in text fields are refused with a 400 naming the field, not a database error', async () => {
    for (const body of [{ prompt: 'kick\u0000drum' }, { prompt: 'ok', negative_prompt: '\u0000' }]) {
      const answer = await send('POST', '/v1/generations', JSON.stringify({ ...body, steps: 1, seconds_total: 1 }));
      expectHandled(answer, JSON.stringify(body));
      expect(answer.status).toBe(400);
      expect(answer.text).toContain('NUL');
    }
    const query = await send('GET', '/v1/generations?q=kick%00drum');
    expect(query.status, query.text).toBe(400);
    expect(query.text).toContain('NUL');
    const csv = await send('POST', '/v1/batches', 'prompt,steps\n"nul\u0000here",1\n', 'text/csv');
    expectHandled(csv, 'csv with NUL');
    expect(csv.status).toBe(400);
  });

  it('prototype-pollution keys change no prototype and create nothing odd', async () => {
    const bodies = [
      '{"__proto__":{"polluted":"yes"},"prompt":"proto","steps":1}',
      '{"constructor":{"prototype":{"polluted":"yes"}},"prompt":"ctor","steps":1}',
      '{"prompt":"nested","steps":1,"seed":{"__proto__":{"polluted":"yes"}}}',
    ];
    for (const body of bodies) expectHandled(await send('POST', '/v1/generations', body), body);
    expectHandled(await send('POST', '/v1/batches', '{"items":[{"__proto__":{"polluted":"yes"},"prompt":"p","steps":1}]}'), 'batch proto');
    expectHandled(await send('POST', '/v1/batches', '__proto__,prompt,constructor.prototype.polluted\nyes,p,yes\n', 'text/csv'), 'csv proto');
    expectHandled(await send('GET', '/v1/generations?__proto__[polluted]=yes&constructor[prototype][polluted]=yes'), 'query proto');
    // The API runs in this process: its objects share our Object.prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  it('CSV formula injection: the prompt is stored as written and exported inert', async () => {
    const formulas = ['=cmd|\' /C calc\'!A0', '+SUM(1,2)', '-2+3', '@SUM(A1)', '=HYPERLINK("http://evil.example","x")'];
    const csv = `prompt,steps,seconds_total\n${formulas.map((f) => `"${f.replace(/"/g, '""')}",1,1`).join('\n')}\n`;
    const created = await send('POST', '/v1/batches', csv, 'text/csv');
    expect(created.status, created.text).toBe(202);
    const batchId = JSON.parse(created.text).id as string;
    const rows = await api.db.prisma.generation.findMany({ where: { batchId }, orderBy: { batchIndex: 'asc' } });
    expect(rows.map((row) => row.prompt)).toEqual(formulas);

    const manifestCsv = await send('GET', `/v1/batches/${batchId}/manifest?format=csv`);
    expect(manifestCsv.status).toBe(200);
    const cells = manifestCsv.text.split(/\r?\n/).slice(1).join('\n');
    for (const formula of formulas) {
      // No cell may start with = + - @ (or a tab/CR) where a spreadsheet would evaluate it.
      expect(cells).not.toMatch(new RegExp(`(^|,)"?${formula.slice(0, 4).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
    }
    const manifestJsonl = await send('GET', `/v1/batches/${batchId}/manifest`);
    const prompts = manifestJsonl.text.trim().split('\n').map((line) => JSON.parse(line).params?.prompt ?? JSON.parse(line).prompt);
    expect(prompts).toEqual(formulas);
  });

  it('deeply nested JSON is a 4xx, and the API still answers', async () => {
    for (const depth of [1_000, 100_000]) {
      const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      for (const body of [`{"prompt":${nested}}`, nested, `{"items":${nested}}`]) {
        const answer = await send('POST', body.startsWith('{"items"') ? '/v1/batches' : '/v1/generations', body);
        expectHandled(answer, `nested ${depth}`);
        expect(answer.status).toBeGreaterThanOrEqual(400);
      }
    }
    const objects = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    expectHandled(await send('POST', '/v1/generations', objects), 'nested objects');
    expect((await fetch(`${api.url}/health/live`)).status).toBe(200);
  });

  it('a slow-loris client is cut off and blocks no one meanwhile', async () => {
    const socket = net.connect(new URL(api.url).port as unknown as number, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    socket.on('error', () => undefined);
    const started = Date.now();
    socket.write('POST /v1/generations HTTP/1.1\r\nHost: x\r\n');
    // One header byte a second, never finishing.
    const drip = setInterval(() => socket.write('X'), 1_000);
    try {
      // Meanwhile everybody else is served promptly.
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        const answer = await send('GET', '/v1/generations?limit=1');
        expect(answer.status).toBe(200);
        expect(Date.now() - t0).toBeLessThan(2_000);
      }
      const cutAt = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 45_000))]);
      expect(cutAt, 'the slow client was never disconnected').toBeGreaterThan(0);
      console.info(`[security] slow-loris client cut off after ${cutAt - started} ms`);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
    expect((await fetch(`${api.url}/health/live`)).status).toBe(200);
  }, 60_000);
});
