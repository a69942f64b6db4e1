import type { ProblemDocument } from '@chorus/contracts';
import { describe, expect, it } from 'vitest';
import { eventually } from '@chorus/testing';
import { useApi } from './api-under-test';

// The API reuses a key's tenant for API_KEY_CACHE_TTL_MS; short here, so a revocation shows soon.
const api = useApi('auth', { API_KEY_CACHE_TTL_MS: '300' });

describe('bearer API keys', () => {
  async function expectUnauthorized(headers: Record<string, string>, path = '/v1/generations') {
    const response = await fetch(`${api.url}${path}`, { headers });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const problem = (await response.json()) as ProblemDocument;
    expect(problem).toMatchObject({ status: 401, code: 'unauthorized' });
    return problem;
  }

  it('answers 401 without an Authorization header', async () => {
    await expectUnauthorized({});
    await expectUnauthorized({}, '/v1/models');
  });

  it('answers 401 for a wrong key, a revoked key and a non-bearer scheme', async () => {
    await expectUnauthorized({ authorization: 'Bearer chorus_not-a-real-key' });
    await expectUnauthorized({ authorization: `Basic ${Buffer.from(`x:${api.tenantA.apiKey}`).toString('base64')}` });
    await expectUnauthorized({ authorization: 'Bearer' });
    const tenant = await api.db.prisma.tenant.findUniqueOrThrow({ where: { id: api.tenantB.id }, include: { apiKeys: true } });
    const { TenantRepository } = await import('@chorus/db');
    const repository = new TenantRepository(api.db.prisma);
    const extra = await repository.createApiKey(tenant.id);
    const models = () => fetch(`${api.url}/v1/models`, { headers: { authorization: `Bearer ${extra.key}` } });
    expect((await models()).status).toBe(200);
    await repository.revokeApiKey(tenant.id, extra.id);
    // Refused once the key cache's TTL has passed.
    await eventually('the revoked key is refused', async () => (await models()).status === 401, 10_000);
    await expectUnauthorized({ authorization: `Bearer ${extra.key}` });
  });

  it('checks the key before validating the body', async () => {
    const response = await fetch(`${api.url}/v1/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
  });

  it('accepts a valid key', async () => {
    const response = await fetch(`${api.url}/v1/generations`, { headers: api.auth(api.tenantA) });
    expect(response.status).toBe(200);
  });

  it('leaves the OpenAPI document public', async () => {
    const response = await fetch(`${api.url}/docs-json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/v1/generations', '/v1/generations/{id}', '/v1/generations/{id}/cancel', '/v1/generations/{id}/events', '/v1/generations/{id}/audio', '/v1/models']),
    );
    expect((await fetch(`${api.url}/docs`)).status).toBe(200);
  });

  it('never writes an API key or the Authorization header to the logs', async () => {
    await fetch(`${api.url}/v1/generations`, { headers: api.auth(api.tenantA) });
    await fetch(`${api.url}/v1/generations`, { headers: { authorization: 'Bearer chorus_wrong-key-for-the-log-test' } });
    const logs = api.logLines.join('\n');
    expect(api.logLines.length).toBeGreaterThan(0);
    expect(logs).not.toContain(api.tenantA.apiKey);
    expect(logs).not.toContain('chorus_wrong-key-for-the-log-test');
    expect(logs.toLowerCase()).not.toContain('authorization');
  });

  it('refuses an API key in the query string, and writes no credential-like query value to the logs', async () => {
    const key = api.tenantA.apiKey;
    const refused = await fetch(`${api.url}/v1/generations?api_key=${encodeURIComponent(key)}`);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as ProblemDocument).detail).toMatch(/API key in the URL is refused.*Authorization: Bearer/);
    // With a valid header too, the extra parameter is still refused (400), and still kept out of the logs.
    const alongside = await fetch(`${api.url}/v1/generations?q=keep%20me&access_token=tok-for-the-log-test&X-Amz-Signature=sig-for-the-log-test`, {
      headers: api.auth(api.tenantA),
    });
    expect(alongside.status).toBe(400);
    await eventually('the request lines to be logged', async () => api.logLines.join('\n').includes('access_token=[redacted]'), 5_000, 50);
    const logs = api.logLines.join('\n');
    expect(logs).not.toContain(key);
    expect(logs).not.toContain(encodeURIComponent(key));
    expect(logs).not.toContain('tok-for-the-log-test');
    expect(logs).not.toContain('sig-for-the-log-test');
    expect(logs).toContain('api_key=[redacted]');
    expect(logs).toContain('q=keep%20me');
  });

  it('puts the tenant id on request log lines', async () => {
    await fetch(`${api.url}/v1/models`, { headers: api.auth(api.tenantA) });
    const lines = api.logLines.map((line) => JSON.parse(line) as { tenant_id?: string; req?: { url?: string } });
    expect(lines.some((line) => line.req?.url === '/v1/models' && line.tenant_id === api.tenantA.id)).toBe(true);
  });
});

describe('problem documents for unknown routes', () => {
  it('answers 404 problem+json for a route that does not exist', async () => {
    const response = await fetch(`${api.url}/v1/nothing-here`, { headers: api.auth(api.tenantA) });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
