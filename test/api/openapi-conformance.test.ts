/**
 * The OpenAPI document (`/docs-json`) against the API's real answers: every route in it is called
 * for its success answers and its likely problems, and each answer's status, media type and body
 * must be what the document says. A route, status or field added to the code without the document
 * (or the other way round) fails here.
 */
import { TenantRepository } from '@chorus/db';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi, type TestTenant } from './api-under-test';

const api = useApi('openapi');

interface MediaType {
  schema?: Record<string, unknown>;
}
interface Operation {
  parameters?: { name: string; in: string; schema?: Record<string, unknown> }[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { description?: string; content?: Record<string, MediaType> }>;
  security?: unknown[];
}
type Document = { paths: Record<string, Record<string, Operation>>; components: { securitySchemes: Record<string, Record<string, unknown>> } };

let doc: Document;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const compiled = new Map<object, ValidateFunction>();
/** "POST /v1/generations" → statuses seen. */
const exercised = new Map<string, Set<string>>();

function validate(schema: Record<string, unknown>, value: unknown, what: string): void {
  let check = compiled.get(schema);
  if (!check) {
    check = ajv.compile(schema);
    compiled.set(schema, check);
  }
  expect(check(value), `${what}: ${ajv.errorsText(check.errors)}\n${JSON.stringify(value).slice(0, 800)}`).toBe(true);
}

const isJson = (type: string) => type === 'application/json' || type.endsWith('+json');

interface Call {
  auth?: TestTenant | null;
  params?: Record<string, string>;
  query?: string;
  json?: unknown;
  body?: string | FormData;
  headers?: Record<string, string>;
  /** Read only the start of the body (an event stream that may stay open). */
  peek?: boolean;
}

/** Calls a documented route and checks the answer against the document; returns the answer. */
async function call(method: string, template: string, c: Call = {}): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const operation = doc.paths[template]?.[method.toLowerCase()];
  expect(operation, `${method} ${template} is in the document`).toBeDefined();
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(c.params?.[name] ?? ''));
  const headers: Record<string, string> = { ...(c.auth === null ? {} : api.auth(c.auth ?? api.tenantA)), ...c.headers };
  let body = c.body;
  if (c.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(c.json);
  }
  const response = await fetch(`${api.url}${path}${c.query ?? ''}`, { method, headers, body, redirect: 'manual' });
  const status = String(response.status);
  let text = '';
  if (c.peek) {
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    text = new TextDecoder().decode(value);
    await reader.cancel();
  } else {
    text = await response.text();
  }
  const key = `${method} ${template}`;
  if (!exercised.has(key)) exercised.set(key, new Set());
  exercised.get(key)!.add(status);

  const documented = operation!.responses[status] ?? operation!.responses.default;
  expect(documented, `${key} answered ${status}, which the document does not list (${Object.keys(operation!.responses)}): ${text.slice(0, 300)}`).toBeDefined();
  const type = response.headers.get('content-type')?.split(';')[0].trim();
  let parsed: unknown = text;
  if (documented!.content && text !== '') {
    expect(Object.keys(documented!.content), `${key} ${status} content type`).toContain(type);
    const schema = documented!.content[type!].schema;
    if (isJson(type!)) parsed = JSON.parse(text);
    if (schema) validate(schema, parsed, `${key} ${status} body`);
  }
  // What was sent with a 2xx answer must be what the document says the route takes.
  if (response.ok && c.json !== undefined) {
    const requestSchema = operation!.requestBody?.content[headers['content-type']]?.schema;
    expect(requestSchema, `${key} documents a ${headers['content-type']} body`).toBeDefined();
    validate(requestSchema!, c.json, `${key} request body`);
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

async function newGeneration(tenant: TestTenant = api.tenantA): Promise<string> {
  return (await tenant.client.createGeneration({ prompt: 'an openapi probe', seconds_total: 1, steps: 2 })).id;
}

async function setStatus(id: string, status: 'running' | 'succeeded', outputKey?: string): Promise<void> {
  await api.db.prisma.generation.update({
    where: { id },
    data: { status, startedAt: new Date(), ...(status === 'succeeded' ? { finishedAt: new Date(), progress: 1, outputKey, outputBytes: 4, outputSeconds: 1, sampleRate: 44_100, channels: 2 } : {}) },
  });
}

const MISSING = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  doc = (await (await fetch(`${api.url}/docs-json`)).json()) as Document;
});

describe('the OpenAPI document', () => {
  it('declares API keys as opaque bearer tokens, not JWTs', () => {
    const schemes = Object.values(doc.components.securitySchemes);
    expect(schemes).toEqual([expect.objectContaining({ type: 'http', scheme: 'bearer' })]);
    expect(schemes[0]).not.toHaveProperty('bearerFormat');
  });

  it('has schemas that refuse a wrong body (so the checks below are not vacuous)', () => {
    const schema = doc.paths['/v1/generations/{id}'].get.responses['200'].content!['application/json'].schema!;
    expect(ajv.validate(schema, { id: 'x' })).toBe(false);
    const batch = doc.paths['/v1/batches/{id}'].get.responses['200'].content!['application/json'].schema!;
    expect(ajv.validate(batch, { id: 'x', status: 'exploded' })).toBe(false);
  });

  it('gives every query parameter a schema', () => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const parameter of operation.parameters ?? []) {
          expect(Object.keys(parameter.schema ?? {}).length, `${method} ${path} ?${parameter.name}`).toBeGreaterThan(0);
        }
      }
    }
  });
});

describe('real answers of every route match the document', () => {
  it('POST /v1/generations', async () => {
    const body = { prompt: 'a warm pad', seconds_total: 1, steps: 2 };
    await call('POST', '/v1/generations', { json: body });
    await call('POST', '/v1/generations', { json: body, headers: { 'idempotency-key': 'openapi-1' } });
    expect((await call('POST', '/v1/generations', { json: body, headers: { 'idempotency-key': 'openapi-1' } })).status).toBe(200);
    expect((await call('POST', '/v1/generations', { json: { ...body, seed: 1 }, headers: { 'idempotency-key': 'openapi-1' } })).status).toBe(409);
    expect((await call('POST', '/v1/generations', { json: { prompt: 5, colour: 'red' } })).status).toBe(400);
    expect((await call('POST', '/v1/generations', { json: body, auth: null })).status).toBe(401);
    expect((await call('POST', '/v1/generations', { json: { prompt: 'a'.repeat(1024 * 1024 + 10) } })).status).toBe(413);
    expect((await call('POST', '/v1/generations', { body: 'a pad', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
  });

  it('429 from a quota', async () => {
    const { tenant, apiKey } = await new TenantRepository(api.db.prisma).create({ name: 'openapi-quota', audioSecondsPerDay: 1 });
    const limited = { id: tenant.id, name: tenant.name, apiKey: apiKey.key } as TestTenant;
    expect((await call('POST', '/v1/generations', { auth: limited, json: { prompt: 'too long for the quota', seconds_total: 5 } })).status).toBe(429);
  });

  it('GET /v1/generations and GET /v1/generations/{id}', async () => {
    const id = await newGeneration();
    await call('GET', '/v1/generations', { query: '?limit=2&status=queued,running&q=probe' });
    expect((await call('GET', '/v1/generations', { query: '?limit=0' })).status).toBe(400);
    await call('GET', '/v1/generations/{id}', { params: { id } });
    expect((await call('GET', '/v1/generations/{id}', { params: { id: MISSING } })).status).toBe(404);
  });

  it('POST /v1/generations/{id}/cancel: 200, 202, 409, 404', async () => {
    expect((await call('POST', '/v1/generations/{id}/cancel', { params: { id: await newGeneration() } })).status).toBe(200);
    const running = await newGeneration();
    await setStatus(running, 'running');
    expect((await call('POST', '/v1/generations/{id}/cancel', { params: { id: running } })).status).toBe(202);
    const finished = await newGeneration();
    await setStatus(finished, 'succeeded', 'generations/none.wav');
    expect((await call('POST', '/v1/generations/{id}/cancel', { params: { id: finished } })).status).toBe(409);
    expect((await call('POST', '/v1/generations/{id}/cancel', { params: { id: MISSING } })).status).toBe(404);
  });

  it('GET /v1/generations/{id}/events and /audio', async () => {
    const canceled = await newGeneration();
    await api.tenantA.client.cancelGeneration(canceled);
    const stream = await call('GET', '/v1/generations/{id}/events', { params: { id: canceled }, peek: true });
    expect(stream.text).toMatch(/^event: status/m);
    expect((await call('GET', '/v1/generations/{id}/events', { params: { id: MISSING } })).status).toBe(404);

    const done = await newGeneration();
    await setStatus(done, 'succeeded', `generations/${api.tenantA.id}/${done}.wav`);
    expect((await call('GET', '/v1/generations/{id}/audio', { params: { id: done } })).status).toBe(302);
    expect((await call('GET', '/v1/generations/{id}/audio', { params: { id: await newGeneration() } })).status).toBe(409);
    expect((await call('GET', '/v1/generations/{id}/audio', { params: { id: MISSING } })).status).toBe(404);
  });

  it('POST /v1/generations/{id}/rerun', async () => {
    const id = await newGeneration();
    expect((await call('POST', '/v1/generations/{id}/rerun', { params: { id }, json: { output_format: 'flac' } })).status).toBe(202);
    await call('POST', '/v1/generations/{id}/rerun', { params: { id }, json: {}, headers: { 'idempotency-key': 'openapi-rerun' } });
    expect((await call('POST', '/v1/generations/{id}/rerun', { params: { id }, json: {}, headers: { 'idempotency-key': 'openapi-rerun' } })).status).toBe(200);
    expect((await call('POST', '/v1/generations/{id}/rerun', { params: { id }, json: { seed: 4 } })).status).toBe(400);
    expect((await call('POST', '/v1/generations/{id}/rerun', { params: { id: MISSING }, json: {} })).status).toBe(404);
  });

  it('GET /v1/models and GET /v1/stats', async () => {
    await call('GET', '/v1/models');
    expect((await call('GET', '/v1/models', { auth: null })).status).toBe(401);
    await call('GET', '/v1/stats');
    expect((await call('GET', '/v1/stats', { auth: null })).status).toBe(401);
  });

  it('POST /v1/batches in every media type', async () => {
    const items = [{ prompt: 'batch row one', seconds_total: 1 }, { prompt: 'batch row two', seconds_total: 1, seed: 3 }];
    expect((await call('POST', '/v1/batches', { json: { items, priority: 6 } })).status).toBe(202);
    expect((await call('POST', '/v1/batches', { body: 'prompt,seconds_total\nrow,1\n', headers: { 'content-type': 'text/csv' }, query: '?priority=6' })).status).toBe(202);
    expect((await call('POST', '/v1/batches', { body: '{"prompt":"row","seconds_total":1}\n', headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(202);
    const form = new FormData();
    form.append('file', new Blob(['prompt\nrow\n'], { type: 'text/csv' }), 'rows.csv');
    form.append('priority', '7');
    expect((await call('POST', '/v1/batches', { body: form })).status).toBe(202);
    const key = { 'idempotency-key': 'openapi-batch' };
    await call('POST', '/v1/batches', { json: { items }, headers: key });
    expect((await call('POST', '/v1/batches', { json: { items }, headers: key })).status).toBe(200);
    expect((await call('POST', '/v1/batches', { json: { items: [{ prompt: '' }] } })).status).toBe(400);
    expect((await call('POST', '/v1/batches', { body: 'rows', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
  });

  it('GET /v1/batches/{id}, its manifest, and its cancel', async () => {
    const batch = (await call('POST', '/v1/batches', { json: { items: [{ prompt: 'row a', seconds_total: 1 }, { prompt: 'row b', seconds_total: 1 }] } })).body as { id: string };
    await call('GET', '/v1/batches/{id}', { params: { id: batch.id } });
    expect((await call('GET', '/v1/batches/{id}', { params: { id: MISSING } })).status).toBe(404);
    await call('GET', '/v1/batches/{id}/manifest', { params: { id: batch.id } });
    await call('GET', '/v1/batches/{id}/manifest', { params: { id: batch.id }, query: '?format=csv' });
    expect((await call('GET', '/v1/batches/{id}/manifest', { params: { id: batch.id }, query: '?format=xml' })).status).toBe(400);
    expect((await call('GET', '/v1/batches/{id}/manifest', { params: { id: MISSING } })).status).toBe(404);

    const rows = await api.db.prisma.generation.findMany({ where: { batchId: batch.id }, orderBy: { batchIndex: 'asc' } });
    await setStatus(rows[0].id, 'running');
    expect((await call('POST', '/v1/batches/{id}/cancel', { params: { id: batch.id } })).status).toBe(202);
    await api.db.prisma.generation.update({ where: { id: rows[0].id }, data: { status: 'canceled', finishedAt: new Date() } });
    await api.db.prisma.batch.update({ where: { id: batch.id }, data: { finishedAt: new Date(), status: 'canceled' } });
    expect((await call('POST', '/v1/batches/{id}/cancel', { params: { id: batch.id } })).status).toBe(200);

    const completed = (await call('POST', '/v1/batches', { json: { items: [{ prompt: 'row c', seconds_total: 1 }] } })).body as { id: string };
    await api.db.prisma.generation.updateMany({ where: { batchId: completed.id }, data: { status: 'succeeded', finishedAt: new Date() } });
    expect((await call('POST', '/v1/batches/{id}/cancel', { params: { id: completed.id } })).status).toBe(409);
    expect((await call('POST', '/v1/batches/{id}/cancel', { params: { id: MISSING } })).status).toBe(404);
  });

  it('left no documented route, and no documented success answer, unexercised', () => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const key = `${method.toUpperCase()} ${path}`;
        const seen = exercised.get(key);
        expect(seen, `${key} was never called`).toBeDefined();
        for (const status of Object.keys(operation.responses).filter((s) => /^[23]/.test(s))) {
          expect(seen!.has(status), `${key} never answered its documented ${status}`).toBe(true);
        }
      }
    }
  });
});
