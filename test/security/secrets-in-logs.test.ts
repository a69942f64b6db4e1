/**
 * Secrets never reach the logs. The API and a worker run as processes at LOG_LEVEL=trace with
 * recognisable secrets (an S3 secret key, a database password, the tenant's API key and webhook
 * secret); a run that authenticates, fails to authenticate, submits, streams, downloads, errors and
 * delivers a signed webhook is captured line by line, and no line holds any of them.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER } from '@chorus/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startFarmProcesses, type FarmProcesses, type FarmTenant } from '@chorus/testing';

const S3_SECRET = `s3-secret-${randomBytes(12).toString('hex')}`;
const DB_PASSWORD = `db-password-${randomBytes(12).toString('hex')}`;

let farm: FarmProcesses;
let tenant: FarmTenant;
let receiver: http.Server;
let receiverUrl: string;
const deliveries: { headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      deliveries.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/chorus`;

  farm = await startFarmProcesses('secrets', {
    env: {
      LOG_LEVEL: 'trace',
      // s3rver ignores signatures, so any secret works; Postgres here trusts local connections,
      // so a password in the URL is accepted and unused — but it is in the configuration.
      S3_SECRET_ACCESS_KEY: S3_SECRET,
      WEBHOOK_ALLOW_LOOPBACK: 'true',
    },
  });
  const url = new URL(farm.databaseUrl);
  url.password = DB_PASSWORD;
  farm.env.DATABASE_URL = url.toString();
  await Promise.all([farm.startApi(), farm.startWorker('secrets-w1')]);
  tenant = await farm.createTenant('secrets');
}, 300_000);

afterAll(async () => {
  await farm?.close();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
}, 120_000);

async function call(path: string, init: RequestInit & { key?: string } = {}) {
  const response = await fetch(`${farm.apiUrl}${path}`, {
    ...init,
    redirect: 'manual',
    headers: { authorization: `Bearer ${init.key ?? tenant.apiKey}`, 'content-type': 'application/json', ...init.headers },
    signal: AbortSignal.timeout(15_000),
  });
  await response.arrayBuffer();
  return response;
}

describe('secrets in logs', () => {
  it('no process writes an API key, S3 secret, database password, webhook secret or Authorization header', async () => {
    const wrongKey = `chorus_${randomBytes(32).toString('base64url')}`;
    expect((await call('/v1/generations', { key: wrongKey })).status).toBe(401);
    expect((await call('/v1/generations', { headers: { authorization: `Basic ${Buffer.from(`user:${tenant.apiKey}`).toString('base64')}` } })).status).toBe(401);
    expect((await call('/v1/generations', { method: 'POST', body: JSON.stringify({ prompt: '', steps: 10_000 }) })).status).toBe(400);
    expect((await call('/v1/generations', { method: 'POST', body: '{"prompt": "broken' })).status).toBe(400);
    expect((await call(`/v1/generations/${randomBytes(16).toString('hex')}`)).status).toBe(404);

    const created = await call('/v1/generations', {
      method: 'POST',
      headers: { 'idempotency-key': 'secrets-run-1' },
      body: JSON.stringify({ prompt: 'a door creaking', seconds_total: 1, steps: 1, webhook_url: receiverUrl }),
    });
    expect(created.status).toBe(202);
    const id = created.headers.get('location')!.split('/').pop()!;
    await farm.waitForStatuses([id], ['succeeded'], 120_000);
    expect((await call(`/v1/generations/${id}`)).status).toBe(200);
    expect((await call(`/v1/generations/${id}/audio`)).status).toBe(302);
    expect((await call(`/v1/generations/${id}/events`)).status).toBe(200);
    await eventually('the webhook delivered', async () => deliveries.length > 0, 60_000, 200, farm.describe);

    const webhookSecret = (await farm.tenants.findById(tenant.id))!.webhookSecret!;
    const signature = deliveries[0].headers[SIGNATURE_HEADER.toLowerCase()];
    expect(typeof signature).toBe('string');
    const lines = farm.allLines();
    expect(lines.length).toBeGreaterThan(50);
    // Trace-level logs did record the work: requests, the generation, the delivery.
    expect(lines.some((line) => line.includes(id))).toBe(true);
    const secrets: Record<string, string> = {
      'API key': tenant.apiKey,
      'API key body': tenant.apiKey.slice(12),
      'wrong API key': wrongKey,
      'S3 secret': S3_SECRET,
      'database password': DB_PASSWORD,
      'webhook secret': webhookSecret,
      'webhook signature': signature as string,
      'Basic credentials': Buffer.from(`user:${tenant.apiKey}`).toString('base64'),
    };
    const leaks = Object.entries(secrets).flatMap(([what, secret]) =>
      lines.filter((line) => line.includes(secret)).map((line) => `${what}: ${line.slice(0, 300)}`),
    );
    expect(leaks).toEqual([]);
    // Nor the shape of one: no Authorization header and no presigned URL (a bearer credential too).
    expect(lines.filter((line) => /Bearer\s|authorization"\s*:\s*"(?!\[redacted\])|X-Amz-Signature/i.test(line))).toEqual([]);
    console.info(`[security] ${lines.length} log lines from ${farm.services.size} processes at trace level: 0 secrets`);
  }, 240_000);
});
