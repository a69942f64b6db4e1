import type { NestExpressApplication } from '@nestjs/platform-express';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantRepository } from '@chorus/db';
import { AudioSecondsQuota } from '@chorus/queue';
import { createApiApp } from '../../apps/api/src/app';
import { register as registerTenants } from '../../apps/cli/src/commands/tenants';
import { register as registerTenantLimits } from '../../apps/cli/src/commands/tenants-limits';
import { useApi } from './api-under-test';

// A 1.5 s window stands in for the minute, so "accepted again after the window" takes seconds.
const WINDOW_MS = 1500;
const api = useApi('limits', { RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) });

interface Tenant {
  id: string;
  name: string;
  key: string;
}

async function newTenant(name: string): Promise<Tenant> {
  const { tenant, apiKey } = await new TenantRepository(api.db.prisma).create({ name });
  return { id: tenant.id, name, key: apiKey.key };
}

/** `chorus tenants limits …`, run in-process against the test database. */
async function chorusTenantsLimits(...args: string[]): Promise<string> {
  const program = new Command('chorus').exitOverride();
  registerTenants(program);
  registerTenantLimits(program);
  const saved = process.env.DATABASE_URL;
  const write = process.stdout.write.bind(process.stdout);
  let output = '';
  process.env.DATABASE_URL = api.db.url;
  process.stdout.write = ((chunk: string) => ((output += chunk), true)) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'chorus', 'tenants', 'limits', ...args]);
  } finally {
    process.stdout.write = write;
    process.env.DATABASE_URL = saved;
  }
  return output;
}

function cancel(tenant: Tenant, path: string): Promise<Response> {
  return fetch(`${api.url}${path}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${tenant.key}` } });
}

function get(baseUrl: string, tenant: Tenant): Promise<Response> {
  return fetch(`${baseUrl}/v1/models`, { headers: { authorization: `Bearer ${tenant.key}` } });
}

function submit(tenant: Tenant, body: Record<string, unknown>, path = '/v1/generations'): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.key}` },
    body: JSON.stringify(body),
  });
}

async function expectTooManyRequests(response: Response, code: string): Promise<number> {
  expect(response.status).toBe(429);
  expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect((await response.json()).code).toBe(code);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
  return retryAfter;
}

describe('chorus tenants limits', () => {
  it('shows and changes the limits, "none" removing one', async () => {
    await newTenant('cli-limits');

    const set = JSON.parse(await chorusTenantsLimits('cli-limits', '--rpm', '120', '--concurrent', '4', '--audio-seconds-per-day', '3600', '--json'));
    const cleared = JSON.parse(await chorusTenantsLimits('cli-limits', '--rpm', 'none', '--json'));

    expect(set).toMatchObject({ name: 'cli-limits', requests_per_minute: 120, max_concurrent: 4, audio_seconds_per_day: 3600 });
    expect(cleared).toMatchObject({ requests_per_minute: null, max_concurrent: 4, audio_seconds_per_day: 3600 });
    expect(await chorusTenantsLimits('cli-limits')).toMatch(/requests per minute\s+unlimited/);
  });
});

describe('requests per minute', () => {
  it('answers 429 with Retry-After at the limit, and lets requests in again after the window', async () => {
    const tenant = await newTenant('rpm');
    await chorusTenantsLimits('rpm', '--rpm', '3');

    const allowed = await Promise.all([get(api.url, tenant), get(api.url, tenant), get(api.url, tenant)]);
    const refused = await get(api.url, tenant);

    expect(allowed.map((response) => response.status)).toEqual([200, 200, 200]);
    const retryAfter = await expectTooManyRequests(refused, 'rate_limited');
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(WINDOW_MS / 1000));
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    expect((await get(api.url, tenant)).status).toBe(200);
  });

  it('holds across two API instances sharing Redis', async () => {
    let second: NestExpressApplication | undefined;
    try {
      second = await createApiApp(api.config);
      await second.listen(0, '127.0.0.1');
      const secondUrl = `http://127.0.0.1:${(second.getHttpServer().address() as { port: number }).port}`;
      const tenant = await newTenant('two-instances');
      await chorusTenantsLimits('two-instances', '--rpm', '4');

      const statuses: number[] = [];
      for (const url of [api.url, secondUrl, api.url, secondUrl, api.url, secondUrl]) statuses.push((await get(url, tenant)).status);

      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      await second?.close();
    }
  });

  it("does not count one tenant's requests against another", async () => {
    const busy = await newTenant('busy');
    const quiet = await newTenant('quiet');
    await chorusTenantsLimits('busy', '--rpm', '1');
    await chorusTenantsLimits('quiet', '--rpm', '1');

    await get(api.url, busy);
    expect((await get(api.url, busy)).status).toBe(429);
    expect((await get(api.url, quiet)).status).toBe(200);
  });
});

describe('concurrent generations', () => {
  it('refuses a generation beyond the limit until one of the open ones has ended', async () => {
    const tenant = await newTenant('concurrent');
    await chorusTenantsLimits('concurrent', '--concurrent', '2');

    const first = await submit(tenant, { prompt: 'one', seconds_total: 1 });
    const second = await submit(tenant, { prompt: 'two', seconds_total: 1 });
    const third = await submit(tenant, { prompt: 'three', seconds_total: 1 });

    expect([first.status, second.status]).toEqual([202, 202]);
    await expectTooManyRequests(third, 'rate_limited');
    // A worker finishes the first one.
    await api.db.prisma.generation.update({ where: { id: (await first.json()).id }, data: { status: 'succeeded', finishedAt: new Date() } });
    expect((await submit(tenant, { prompt: 'three again', seconds_total: 1 })).status).toBe(202);
    expect(await api.db.prisma.generation.count({ where: { prompt: 'three' } })).toBe(0);
  });

  it('lets the last slot go to exactly one of several racing requests', async () => {
    const tenant = await newTenant('racing');
    await chorusTenantsLimits('racing', '--concurrent', '1');

    const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => submit(tenant, { prompt: `race ${i}`, seconds_total: 1 })));

    expect(responses.filter((response) => response.status === 202)).toHaveLength(1);
    expect(responses.filter((response) => response.status === 429)).toHaveLength(5);
  });
});

describe('audio seconds per day', () => {
  it('answers 429 when a request would pass the day’s quota, with Retry-After at the next UTC midnight', async () => {
    const tenant = await newTenant('audio');
    await chorusTenantsLimits('audio', '--audio-seconds-per-day', '10');

    const first = await submit(tenant, { prompt: 'six seconds', seconds_total: 6 });
    const over = await submit(tenant, { prompt: 'six more', seconds_total: 6 });
    const fits = await submit(tenant, { prompt: 'four more', seconds_total: 4 });
    const batchOver = await submit(tenant, { items: [{ prompt: 'batch row', seconds_total: 1 }] }, '/v1/batches');

    expect(first.status).toBe(202);
    const retryAfter = await expectTooManyRequests(over, 'quota_exceeded');
    const now = new Date();
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    expect(Math.abs(retryAfter - (midnight - now.getTime()) / 1000)).toBeLessThan(5);
    expect(fits.status).toBe(202);
    await expectTooManyRequests(batchOver, 'quota_exceeded');
    expect(await api.db.prisma.batch.count({ where: { tenant: { name: 'audio' } } })).toBe(0);
  });
});

describe('audio seconds given back', () => {
  // The counters as the API and the workers keep them in Redis.
  let quota: AudioSecondsQuota;
  beforeAll(() => {
    quota = new AudioSecondsQuota({ redisUrl: api.config.REDIS_URL, prefix: api.config.BULLMQ_PREFIX });
  });
  afterAll(() => quota?.close());

  it('by a canceled generation, once however often it is canceled', async () => {
    const tenant = await newTenant('refund-cancel');
    await chorusTenantsLimits('refund-cancel', '--audio-seconds-per-day', '10');
    const kept = await submit(tenant, { prompt: 'kept', seconds_total: 3 });
    const { id } = await (await submit(tenant, { prompt: 'canceled', seconds_total: 6 })).json();
    expect(kept.status).toBe(202);
    expect(await quota.used(tenant.id, new Date())).toBe(9);

    const cancels = await Promise.all([cancel(tenant, `/v1/generations/${id}`), cancel(tenant, `/v1/generations/${id}`)]);
    const again = await cancel(tenant, `/v1/generations/${id}`);

    expect([...cancels, again].map((response) => response.status)).toEqual([200, 200, 200]);
    expect(await quota.used(tenant.id, new Date())).toBe(3);
    // What the tenant sees: the six seconds fit again, and no more than that.
    expect((await submit(tenant, { prompt: 'fits again', seconds_total: 6 })).status).toBe(202);
    await expectTooManyRequests(await submit(tenant, { prompt: 'one too many', seconds_total: 2 }), 'quota_exceeded');
  });

  it('not by a generation that succeeded', async () => {
    const tenant = await newTenant('refund-succeeded');
    await chorusTenantsLimits('refund-succeeded', '--audio-seconds-per-day', '10');
    const { id } = await (await submit(tenant, { prompt: 'rendered', seconds_total: 6 })).json();
    // A worker finishes it.
    await api.db.prisma.generation.update({ where: { id }, data: { status: 'succeeded', finishedAt: new Date() } });

    expect((await cancel(tenant, `/v1/generations/${id}`)).status).toBe(409);
    expect(await quota.used(tenant.id, new Date())).toBe(6);
  });

  it('by the rows of a canceled batch that had not run, not by those that had', async () => {
    const tenant = await newTenant('refund-batch');
    await chorusTenantsLimits('refund-batch', '--audio-seconds-per-day', '20');
    const items = [2, 3, 4].map((seconds) => ({ prompt: `row of ${seconds} s`, seconds_total: seconds }));
    const { id } = await (await submit(tenant, { items }, '/v1/batches')).json();
    expect(await quota.used(tenant.id, new Date())).toBe(9);
    // A worker finishes the first row.
    await api.db.prisma.generation.updateMany({ where: { batchId: id, batchIndex: 1 }, data: { status: 'succeeded', finishedAt: new Date() } });

    expect((await cancel(tenant, `/v1/batches/${id}`)).status).toBe(200);
    expect(await quota.used(tenant.id, new Date())).toBe(2);
  });
});
