/** `GET /v1/stats` over HTTP: behind the API key like every /v1 route, answering the documented shape. */
import { farmStatsSchema } from '@chorus/contracts';
import { describe, expect, it } from 'vitest';
import { useApi } from '../api/api-under-test';

const api = useApi('stats');

describe('GET /v1/stats', () => {
  it('answers 401 without an API key', async () => {
    const response = await fetch(`${api.url}/v1/stats`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });

  it('answers the farm stats schema to any tenant, through the typed client', async () => {
    const stats = await api.tenantA.client.getStats();
    expect(farmStatsSchema.parse(stats)).toEqual(stats);
    expect(stats.buckets).toHaveLength(60);
    expect(await api.tenantB.client.getStats()).toMatchObject({ queue: stats.queue, generations: stats.generations });
  });
});
