/**
 * `chorus_http_requests_total` counts every answered request: those the body parsers refuse before
 * routing (413, invalid JSON) under the route they were sent to, and unknown paths of any method
 * under `(unmatched)`.
 */
import { describe, expect, it } from 'vitest';
import { sampleValue } from '../ops/probe-port';
import { useApi } from './api-under-test';

const api = useApi('request_metrics');

async function count(method: string, route: string, status: number): Promise<number> {
  const exposition = await (await fetch(`${api.url}/metrics`)).text();
  return sampleValue(exposition, `chorus_http_requests_total{method="${method}",route="${route}",status="${status}"}`) ?? 0;
}

/** Sends a request and returns by how much the named series grew. */
async function counted(request: () => Promise<Response>, method: string, route: string, status: number): Promise<number> {
  const before = await count(method, route, status);
  const response = await request();
  expect(response.status).toBe(status);
  await response.arrayBuffer();
  // The counter is bumped on the response's `close`, a moment after the client has the answer.
  for (let tries = 0; tries < 50; tries += 1) {
    const grown = (await count(method, route, status)) - before;
    if (grown > 0) return grown;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return 0;
}

const post = (body: string) => () =>
  fetch(`${api.url}/v1/generations`, { method: 'POST', headers: { 'content-type': 'application/json', ...api.auth(api.tenantA) }, body });

describe('chorus_http_requests_total', () => {
  it('counts a 413 under the route it was sent to', async () => {
    expect(await counted(post(JSON.stringify({ prompt: 'a'.repeat(1024 * 1024 + 10) })), 'POST', '/v1/generations', 413)).toBe(1);
  });

  it('counts an invalid-JSON 400 under the route it was sent to', async () => {
    expect(await counted(post('{"prompt": '), 'POST', '/v1/generations', 400)).toBe(1);
  });

  it('counts a 404 on an unknown path as (unmatched), whatever the method', async () => {
    for (const method of ['GET', 'DELETE', 'PUT', 'PATCH']) {
      const request = () => fetch(`${api.url}/v1/no-such-route`, { method, headers: api.auth(api.tenantA) });
      expect(await counted(request, method, '(unmatched)', 404), method).toBe(1);
    }
  });

  it('labels routed requests with their pattern, not with a catch-all', async () => {
    const request = () => fetch(`${api.url}/v1/generations/00000000-0000-4000-8000-000000000000`, { headers: api.auth(api.tenantA) });
    expect(await counted(request, 'GET', '/v1/generations/:id', 404)).toBe(1);
    const exposition = await (await fetch(`${api.url}/metrics`)).text();
    expect(exposition).not.toContain('route="/{*path}"');
  });
});
