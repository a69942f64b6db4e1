import { afterEach, describe, expect, it } from 'vitest';
import { ProbeServer, type ProbeAnswer } from './probe-server';

const json = (status: number, body: unknown): ProbeAnswer => ({ status, contentType: 'application/json', body: JSON.stringify(body) });

let server: ProbeServer | undefined;

async function serve(ready: () => Promise<ProbeAnswer>): Promise<string> {
  server = new ProbeServer({
    '/metrics': async () => ({ status: 200, contentType: 'text/plain; version=0.0.4', body: 'chorus_up 1\n' }),
    '/health/live': async () => json(200, { status: 'ok' }),
    '/health/ready': ready,
  });
  const port = await server.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${port}`;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('ProbeServer', () => {
  it('answers each route with its status, type and body, uncached', async () => {
    const url = await serve(async () => json(503, { status: 'error' }));
    const ready = await fetch(`${url}/health/ready?verbose=1`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toBe('application/json');
    expect(ready.headers.get('cache-control')).toBe('no-store');
    expect(await ready.json()).toEqual({ status: 'error' });
    expect(await (await fetch(`${url}/metrics`)).text()).toBe('chorus_up 1\n');
  });

  it('refuses other paths and methods, and answers HEAD without a body', async () => {
    const url = await serve(async () => json(200, { status: 'ok' }));
    expect((await fetch(`${url}/v1/generations`)).status).toBe(404);
    expect((await fetch(`${url}/health/live`, { method: 'POST' })).status).toBe(405);
    const head = await fetch(`${url}/health/live`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('turns a probe that throws into a 500 naming the error, and keeps serving', async () => {
    const url = await serve(async () => {
      throw new Error('probe exploded');
    });
    const response = await fetch(`${url}/health/ready`);
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('probe exploded');
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
  });
});
