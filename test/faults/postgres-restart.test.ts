/**
 * Fault: Postgres goes down (immediate shutdown: connections cut) while clients call the API and a
 * worker finishes a generation, then comes back. During the outage every route that needs Postgres answers
 * 503 with Retry-After — never a 500, never a hang — and afterwards the API recovers by itself. The worker
 * retries its success write, so the finished audio is not rendered twice.
 *
 * The test runs its own Postgres cluster on a spare port; the shared one on 5432 is never touched.
 */
import { createPrismaClient, migrate, type PrismaClient } from '@chorus/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, listObjectKeys, sleep, startFarmProcesses, type FarmProcesses, type FarmTenant } from '@chorus/testing';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres';

let pg: PrivatePostgres;
let prisma: PrismaClient;
let farm: FarmProcesses;
let tenant: FarmTenant;
/** The API's key cache: within it, a route that needs nothing else from Postgres can still answer. */
const KEY_CACHE_TTL_MS = 5_000;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  const url = pg.url('chorus_fault_pg');
  await migrate(url);
  prisma = createPrismaClient(url, { maxConnections: 3 });
  farm = await startFarmProcesses('fault_pg', { database: { url, prisma }, env: { RECONCILE_INTERVAL_MS: '1000', API_KEY_CACHE_TTL_MS: String(KEY_CACHE_TTL_MS) } });
  await Promise.all([farm.startApi(), farm.startWorker('pg-w1')]);
  tenant = await farm.createTenant('pg');
}, 300_000);

afterAll(async () => {
  await farm?.close();
  await prisma?.$disconnect().catch(() => undefined);
  await pg?.destroy();
}, 120_000);

interface Answer {
  route: string;
  status: number | 'timeout' | 'network error';
  retryAfter: string | null;
  contentType: string | null;
  startedAt: number;
  ms: number;
}

/** One call with a deadline: a hang shows up as 'timeout', not as a stuck test. */
async function call(route: string, init: RequestInit = {}): Promise<Answer> {
  const started = Date.now();
  try {
    const response = await fetch(`${farm.apiUrl}${route}`, {
      ...init,
      headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json', ...init.headers },
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return { route, status: response.status, retryAfter: response.headers.get('retry-after'), contentType: response.headers.get('content-type'), startedAt: started, ms: Date.now() - started };
  } catch (error) {
    const status = (error as Error).name === 'TimeoutError' ? 'timeout' : 'network error';
    return { route, status, retryAfter: null, contentType: null, startedAt: started, ms: Date.now() - started };
  }
}

describe('Postgres restarts under load', () => {
  it('the API answers 503 + Retry-After during the outage and recovers; the worker keeps its finished work', async () => {
    const long = await tenant.client.createGeneration({ prompt: 'cello drone', seconds_total: 1, steps: 40, seed: 1 });
    const shorts = await Promise.all([0, 1, 2].map((i) => tenant.client.createGeneration({ prompt: `hi-hat ${i}`, seconds_total: 1, steps: 1, seed: i })));
    await eventually(
      'the long generation sampling',
      async () => {
        const row = await prisma.generation.findUnique({ where: { id: long.id } });
        return row?.status === 'running' && row.progress > 0;
      },
      60_000,
      20,
      farm.describe,
    );

    const stoppedAt = Date.now();
    await pg.stop();
    const during: Answer[] = [];
    const worker = farm.services.get('pg-w1')!;
    const statusWriteRetried = () => worker.lines.some((line) => line.includes('database unavailable for the status write'));
    // Five clients keep calling until the worker has finished sampling and is retrying its write.
    const deadline = Date.now() + 60_000;
    const routes = () => [
      call(`/v1/generations/${long.id}`),
      call('/v1/generations?limit=5'),
      call('/v1/generations', { method: 'POST', body: JSON.stringify({ prompt: 'during the outage', steps: 1, seconds_total: 1 }) }),
      call(`/v1/generations/${shorts[0].id}/cancel`, { method: 'POST' }),
      call('/v1/models'),
    ];
    do {
      during.push(...(await Promise.all(routes())));
      await sleep(200);
    } while (!statusWriteRetried() && Date.now() < deadline);
    expect(statusWriteRetried(), worker.tail()).toBe(true);
    await pg.start();

    // Every route that reads or writes Postgres answers a 503 problem with Retry-After. /v1/models reads
    // nothing from Postgres once the API key is in the key cache, so it may still answer 200, but only
    // within the cache's TTL of the outage's start (the key was last looked up before it; 500 ms for the
    // request to arrive). After that the key lookup fails, and it is a 503 too.
    const unavailable = (answer: Answer) =>
      answer.status === 503 && answer.retryAfter !== null && answer.contentType?.startsWith('application/problem+json') === true;
    const servedFromMemory = (answer: Answer) =>
      answer.route === '/v1/models' && answer.status === 200 && answer.startedAt - stoppedAt <= KEY_CACHE_TTL_MS + 500;
    const unexpected = during.filter((answer) => !unavailable(answer) && !servedFromMemory(answer));
    expect(unexpected).toEqual([]);
    expect(Math.max(...during.map((answer) => answer.ms))).toBeLessThan(10_000);

    const recovered = await eventually('the API answering again', async () => (await call(`/v1/generations/${long.id}`)).status === 200, 30_000, 250);
    expect(recovered).toBe(true);
    expect(farm.services.get('api')!.running).toBe(true);

    const ids = [long.id, ...shorts.map((g) => g.id)];
    const rows = await farm.waitForStatuses(ids, ['succeeded', 'failed', 'canceled'], 120_000);
    expect(rows.map((row) => row.status)).toEqual(ids.map(() => 'succeeded'));
    const longRow = rows.find((row) => row.id === long.id)!;
    // Rendered once: the write was retried, not the generation.
    expect(longRow.attempts).toBe(1);
    const keys = await listObjectKeys(farm.s3);
    expect(keys.sort()).toEqual(rows.map((row) => row.outputKey).sort());

    const byRoute: Record<string, number> = {};
    for (const answer of during) byRoute[`${answer.status}`] = (byRoute[`${answer.status}`] ?? 0) + 1;
    const writeRetries = worker.lines.filter((line) => line.includes('database unavailable for the status write')).length;
    console.info(
      `[fault] postgres down ${during.length} calls: ${JSON.stringify(byRoute)}, slowest ${Math.max(...during.map((a) => a.ms))} ms; ` +
        `rows=${rows.length} succeeded, objects=${keys.length}, attempts=${JSON.stringify(rows.map((row) => row.attempts))}, success-write retries=${writeRetries}`,
    );
  }, 300_000);
});
