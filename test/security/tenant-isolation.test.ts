/**
 * A tenant can never read, list, cancel, rerun or download another tenant's generations or
 * batches, nor count them in its statistics. The routes are not listed by hand: they are read from the running app's OpenAPI
 * document (checked against the Express router, so no route hides from it), so a route added later
 * is covered (or fails this test until it is taught the route's path parameters).
 *
 * Tenant A owns a succeeded generation (with its audio in S3), a queued one, and a batch. Tenant B
 * calls every route with A's ids; every answer is a 404 problem (or, for collections, a page
 * without A's things), and A's resources are unchanged afterwards. A's own calls on the same
 * URLs succeed, which proves the ids were right.
 */
import { generationObjectKey } from '@chorus/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiUnderTest, type TestTenant } from '../api/api-under-test';

interface Operation {
  method: string;
  path: string;
  parameters: { name: string; in: string }[];
}

let api: ApiUnderTest;
let operations: Operation[];
/** A's resources, by the kind of id a path parameter takes. */
const owned = { succeeded: '', queued: '', batch: '', batchItem: '' };
const SECRET_PROMPT = 'tenant-a-private-prompt-7f3e';

beforeAll(async () => {
  api = await startApi('isolation');
  const a = api.tenantA;
  const generation = await a.client.createGeneration({ prompt: `${SECRET_PROMPT} finished`, seconds_total: 1, steps: 1, seed: 1 });
  // Finish it as a worker would: running, audio in S3, then succeeded.
  const repository = api.app.get((await import('@chorus/db')).GenerationRepository);
  await repository.markRunning(generation.id, { workerId: 'isolation-worker', modelName: 'chorus-tiny', modelVersion: 'test' });
  const key = generationObjectKey(a.id, generation.id, 'wav');
  await api.s3.putObject(key, new Uint8Array([82, 73, 70, 70]));
  await repository.markSucceeded(generation.id, {
    outputKey: key,
    outputBytes: 4,
    outputSeconds: 1,
    sampleRate: 44_100,
    channels: 2,
    inferenceMs: 1,
    encodeMs: 1,
    uploadMs: 1,
  });
  owned.succeeded = generation.id;
  owned.queued = (await a.client.createGeneration({ prompt: `${SECRET_PROMPT} queued`, seconds_total: 1, steps: 1, seed: 2 })).id;
  const batch = await post(a, '/v1/batches', { items: [{ prompt: `${SECRET_PROMPT} batch row`, seconds_total: 1, steps: 1 }] });
  expect(batch.status, JSON.stringify(batch.body)).toBe(202);
  owned.batch = (batch.body as { id: string }).id;
  const items = await api.db.prisma.generation.findMany({ where: { batchId: owned.batch } });
  owned.batchItem = items[0].id;

  const document = (await (await fetch(`${api.url}/docs-json`)).json()) as {
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
  };
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, operation]) => ({ method: method.toUpperCase(), path, parameters: operation.parameters ?? [] })),
  );
});

afterAll(async () => {
  await api?.close();
});

async function post(tenant: TestTenant, path: string, body: unknown) {
  return send(tenant, 'POST', path, body);
}

async function send(tenant: TestTenant | undefined, method: string, path: string, body?: unknown) {
  const response = await fetch(`${api.url}${path}`, {
    method,
    redirect: 'manual',
    headers: {
      ...(tenant ? api.auth(tenant) : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  // An SSE stream for one's own generation would stay open: read a little, then let go.
  const text = response.headers.get('content-type')?.startsWith('text/event-stream') ? await firstChunk(response) : await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // manifests (JSONL/CSV), event streams
  }
  return { status: response.status, contentType: response.headers.get('content-type'), location: response.headers.get('location'), text, body: parsed };
}

async function firstChunk(response: Response): Promise<string> {
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  return new TextDecoder().decode(value);
}

/** The id tenant A owns that fits a path's `{id}`: generations and batches, live and finished. */
function idsFor(path: string): string[] {
  if (path.startsWith('/v1/generations/{id}')) return [owned.succeeded, owned.queued, owned.batchItem];
  if (path.startsWith('/v1/batches/{id}')) return [owned.batch];
  throw new Error(`tenant-isolation.test.ts does not know which id to put in ${path}: teach it this route`);
}

/** A body a POST route accepts, so that B's call gets past validation and reaches the lookup. */
function bodyFor(method: string, path: string): unknown {
  if (method !== 'POST') return undefined;
  if (path === '/v1/generations') return { prompt: 'tenant b', seconds_total: 1, steps: 1 };
  if (path === '/v1/batches') return { items: [{ prompt: 'tenant b batch', seconds_total: 1, steps: 1 }] };
  return undefined;
}

const tenantRoutes = () => operations.filter((operation) => operation.path.startsWith('/v1/'));

describe('tenant isolation over every route', () => {
  it('reads the routes from the OpenAPI document, generations and batches among them', () => {
    const paths = tenantRoutes().map((operation) => `${operation.method} ${operation.path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'GET /v1/generations/{id}',
        'POST /v1/generations/{id}/cancel',
        'GET /v1/generations/{id}/audio',
        'GET /v1/generations/{id}/events',
        'GET /v1/generations',
        'GET /v1/batches/{id}',
        'GET /v1/batches/{id}/manifest',
        'POST /v1/batches/{id}/cancel',
      ]),
    );
  });

  it('knows every /v1 route the app serves: the router and the OpenAPI document agree', () => {
    // A route left out of the document (@ApiExcludeEndpoint, say) would escape the checks below.
    const instance = api.app.getHttpAdapter().getInstance() as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } };
    const served = instance.router.stack
      .flatMap((layer) => (layer.route ? Object.keys(layer.route.methods).map((method) => `${method.toUpperCase()} ${layer.route!.path}`) : []))
      .filter((route) => route.includes(' /v1/'))
      .map((route) => route.replace(/:(\w+)/g, '{$1}'));
    const documented = tenantRoutes().map((operation) => `${operation.method} ${operation.path}`);
    expect([...new Set(served)].sort()).toEqual([...new Set(documented)].sort());
  });

  it("answers 401 on every tenant route without a valid key", async () => {
    for (const operation of tenantRoutes()) {
      const path = operation.path.replace('{id}', owned.succeeded);
      for (const headers of [undefined, { ...api.tenantA, apiKey: 'chorus_not-a-real-key' }]) {
        const answer = await send(headers, operation.method, path, bodyFor(operation.method, operation.path));
        expect(answer.status, `${operation.method} ${path} with ${headers ? 'a wrong key' : 'no key'}`).toBe(401);
      }
    }
  });

  it("answers 404 to tenant B on every route that takes one of A's ids, and leaks nothing", async () => {
    const checked: string[] = [];
    for (const operation of tenantRoutes().filter((o) => o.path.includes('{'))) {
      const params = operation.parameters.filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name);
      expect(params, `${operation.method} ${operation.path}: path parameters this test knows`).toEqual(['id']);
      for (const id of idsFor(operation.path)) {
        const path = operation.path.replace('{id}', id);
        const answer = await send(api.tenantB, operation.method, path, bodyFor(operation.method, operation.path));
        expect(answer.status, `${operation.method} ${path} as B: ${answer.text.slice(0, 200)}`).toBe(404);
        expect(answer.contentType).toMatch(/^application\/problem\+json/);
        expect(answer.text).not.toContain(SECRET_PROMPT);
        expect(answer.location).toBeNull();
        checked.push(`${operation.method} ${operation.path}`);
      }
    }
    expect(new Set(checked).size).toBeGreaterThanOrEqual(8);
  });

  it("leaves A's resources as they were after B's attempts", async () => {
    const rows = await api.db.prisma.generation.findMany({ where: { tenantId: api.tenantA.id } });
    expect(rows.find((row) => row.id === owned.succeeded)?.status).toBe('succeeded');
    expect(rows.filter((row) => row.id !== owned.succeeded).map((row) => [row.status, row.cancelRequestedAt])).toEqual(
      rows.filter((row) => row.id !== owned.succeeded).map(() => ['queued', null]),
    );
    const batch = await api.db.prisma.batch.findUniqueOrThrow({ where: { id: owned.batch } });
    expect(batch.canceledAt).toBeNull();
    // B's reruns created nothing for A, and nothing from A's parameters for B.
    expect(await api.db.prisma.generation.count({ where: { tenantId: api.tenantB.id, prompt: { contains: SECRET_PROMPT } } })).toBe(0);
  });

  it("never lists A's generations to B, whatever the filters", async () => {
    for (const operation of tenantRoutes().filter((o) => o.method === 'GET' && !o.path.includes('{'))) {
      const queries = ['', `?batch_id=${owned.batch}`, `?q=${encodeURIComponent(SECRET_PROMPT)}`, '?status=succeeded', '?status=queued'];
      for (const query of queries) {
        const answer = await send(api.tenantB, 'GET', `${operation.path}${query}`);
        expect(answer.status, `${operation.path}${query}`).toBeLessThan(500);
        for (const id of Object.values(owned)) expect(answer.text, `${operation.path}${query}`).not.toContain(id);
        expect(answer.text).not.toContain(SECRET_PROMPT);
      }
    }
  });

  it("never counts A's generations in B's /v1/stats, nor shows B the shared queue and workers", async () => {
    const answer = await send(api.tenantB, 'GET', '/v1/stats');
    const counts = async (tenantId: string) => ({
      queued: await api.db.prisma.generation.count({ where: { tenantId, status: 'queued' } }),
      running: await api.db.prisma.generation.count({ where: { tenantId, status: 'running' } }),
    });

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ scope: 'tenant', queue: null, workers: null, generations: await counts(api.tenantB.id) });
    expect((answer.body as { last_hour: { succeeded: number } }).last_hour.succeeded).toBe(
      await api.db.prisma.generation.count({ where: { tenantId: api.tenantB.id, status: 'succeeded' } }),
    );
    // A's own view does count them: the numbers above are B's, not an empty farm's.
    expect((await send(api.tenantA, 'GET', '/v1/stats')).body).toMatchObject({ generations: await counts(api.tenantA.id), last_hour: { succeeded: 1 } });
  });

  it("lets A itself use the same URLs (the ids were right)", async () => {
    for (const operation of tenantRoutes().filter((o) => o.path.includes('{') && o.method === 'GET')) {
      const id = idsFor(operation.path)[0];
      const answer = await send(api.tenantA, 'GET', operation.path.replace('{id}', id));
      expect(answer.status, `${operation.method} ${operation.path} as A: ${answer.text.slice(0, 200)}`).toBeLessThan(400);
    }
  });
});
