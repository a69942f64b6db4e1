/**
 * `GET /v1/stats` over HTTP: behind the API key like every /v1 route, answering the documented
 * shape; a tenant's key gets its own numbers, an operator's key the farm's.
 */
import { farmStatsSchema } from '@chorus/contracts';
import { ChorusClient } from '@chorus/client';
import { TenantRepository } from '@chorus/db';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../api/api-under-test';

const api = useApi('stats');
let operator: ChorusClient;

beforeAll(async () => {
  const { apiKey } = await new TenantRepository(api.db.prisma).create({ name: 'farm-operators', operator: true });
  operator = new ChorusClient({ baseUrl: api.url, apiKey: apiKey.key });
  await api.tenantA.client.createGeneration({ prompt: 'tenant a, queued', seconds_total: 1, steps: 1 });
});

describe('GET /v1/stats', () => {
  it('answers 401 without an API key', async () => {
    const response = await fetch(`${api.url}/v1/stats`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });

  it("answers a tenant's key with its own generations, without the queue and the workers, through the typed client", async () => {
    const [a, b] = [await api.tenantA.client.getStats(), await api.tenantB.client.getStats()];

    expect(farmStatsSchema.parse(a)).toEqual(a);
    expect(a.buckets).toHaveLength(60);
    const queued = (tenantId: string) => api.db.prisma.generation.count({ where: { tenantId, status: 'queued' } });
    expect(a).toMatchObject({ scope: 'tenant', queue: null, workers: null, generations: { queued: await queued(api.tenantA.id) } });
    expect(b).toMatchObject({ scope: 'tenant', queue: null, workers: null, generations: { queued: await queued(api.tenantB.id) } });
  });

  it("answers an operator's key with every tenant's generations, the queue and the workers", async () => {
    const stats = await operator.getStats();

    expect(farmStatsSchema.parse(stats)).toEqual(stats);
    expect(stats.scope).toBe('farm');
    expect(stats.generations.queued).toBe(await api.db.prisma.generation.count({ where: { status: 'queued' } }));
    expect(stats.queue).not.toBeNull();
    expect(stats.workers).toEqual([]);
  });
});
