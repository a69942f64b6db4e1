/**
 * The API's probes against real services: readiness follows Redis down and back up, liveness
 * does not (restarting the API would not bring Redis back). Redis is a redis-server of this test's
 * own, and so is the s3rver the API stores to (it is stopped too); Postgres is a fresh database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiUnderTest } from '../api/api-under-test';
import { eventually, startTestS3, type TestS3 } from '@chorus/testing';
import { startDedicatedRedis, type DedicatedRedis } from './dedicated-redis';

interface HealthBody {
  status: 'ok' | 'error';
  details: Record<string, { status: 'up' | 'down'; message?: string }>;
}

let redis: DedicatedRedis;
let s3: TestS3;
let s3Closed = false;
let api: ApiUnderTest;

async function probe(path: string): Promise<{ status: number; body: HealthBody }> {
  const response = await fetch(`${api.url}${path}`);
  return { status: response.status, body: (await response.json()) as HealthBody };
}

beforeAll(async () => {
  redis = await startDedicatedRedis();
  s3 = await startTestS3();
  api = await startApi('readiness', { REDIS_URL: redis.url, ...s3.env });
});

afterAll(async () => {
  await redis?.start();
  await api?.close();
  await redis?.stop();
  if (!s3Closed) await s3?.close();
});

describe('GET /health/ready on the API', () => {
  it('is 200 with Postgres, Redis and S3 up', async () => {
    // The first probes open the connections; on a loaded machine one may miss its 2 s budget.
    await eventually('readiness', async () => (await probe('/health/ready')).status === 200, 30_000);
    const { body } = await probe('/health/ready');
    expect(body.status).toBe('ok');
    expect(Object.keys(body.details).sort()).toEqual(['postgres', 'redis', 's3', 'shutdown']);
  });

  it('is 503 naming Redis while Redis is down, and 200 again once it is back', async () => {
    await redis.stop();
    await eventually('readiness turning false', async () => (await probe('/health/ready')).status === 503, 10_000);
    const down = await probe('/health/ready');
    expect(down.body.details.redis.status).toBe('down');
    expect(down.body.details.postgres.status).toBe('up');
    expect(down.body.details.s3.status).toBe('up');
    // Liveness stays green: the process is fine, its dependency is not.
    expect((await probe('/health/live')).status).toBe(200);

    await redis.start();
    await eventually('readiness turning true again', async () => (await probe('/health/ready')).status === 200, 20_000);
    expect((await probe('/health/ready')).body.details.redis.status).toBe('up');
  });

  it('is 503 naming S3 when the bucket is unreachable', async () => {
    await s3.close();
    s3Closed = true;
    const { status, body } = await probe('/health/ready');
    expect(status).toBe(503);
    expect(body.details.s3.status).toBe('down');
  });
});
