/**
 * A worker's probe port against real services: readiness needs the model loaded and Postgres,
 * Redis and S3 reachable; it turns false while Redis is down and true once it is back, while
 * liveness stays true. Redis is a redis-server of this test's own (the shared one on 6379 is never
 * touched); the worker runs from dist/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type FarmProcess, type FarmProcesses, startFarmProcesses } from '@chorus/testing';
import { startDedicatedRedis, type DedicatedRedis } from './dedicated-redis';
import { probeUrl } from './probe-port';

interface HealthBody {
  status: 'ok' | 'error';
  details: Record<string, { status: 'up' | 'down'; message?: string; model?: string; provider?: string }>;
}

let redis: DedicatedRedis;
let farm: FarmProcesses;
let worker: FarmProcess;
let workerProbe: string;

async function probe(path: string): Promise<{ status: number; body: HealthBody }> {
  const response = await fetch(`${workerProbe}${path}`);
  return { status: response.status, body: (await response.json()) as HealthBody };
}

beforeAll(async () => {
  redis = await startDedicatedRedis();
  farm = await startFarmProcesses('ops_worker_ready', { redisUrl: redis.url });
  worker = await farm.startWorker('worker-1', { WORKER_SHUTDOWN_GRACE_MS: '1000' });
  workerProbe = await probeUrl(worker);
  await eventually('the worker to be ready', async () => (await probe('/health/ready')).status === 200, 30_000);
}, 180_000);

afterAll(async () => {
  await redis?.start();
  await farm?.close();
  await redis?.stop();
});

describe('the worker probe port', () => {
  it('answers ready with the model loaded and Postgres, Redis and S3 up', async () => {
    const { status, body } = await probe('/health/ready');
    expect(status).toBe(200);
    expect(Object.keys(body.details).sort()).toEqual(['model', 'postgres', 'redis', 's3']);
    expect(body.details.model).toMatchObject({ status: 'up', provider: 'cpu' });
  });

  it('answers not ready, naming Redis, while Redis is down, and ready again once it is back', async () => {
    await redis.stop();
    await eventually('worker readiness turning false', async () => (await probe('/health/ready')).status === 503, 10_000);
    const down = await probe('/health/ready');
    expect(down.body.details.redis.status).toBe('down');
    expect(down.body.details.model.status).toBe('up');
    expect((await probe('/health/live')).status).toBe(200);

    await redis.start();
    await eventually('worker readiness turning true again', async () => (await probe('/health/ready')).status === 200, 30_000);
    // The worker survived the outage: it is still the same process, still taking jobs.
    expect(worker.child.exitCode).toBeNull();
  });

  it('answers 404 for any other path', async () => {
    expect((await fetch(`${workerProbe}/v1/generations`)).status).toBe(404);
  });
});

describe('SIGTERM while Redis is down (a failover in progress)', () => {
  // BullMQ's graceful close alone would wait for Redis forever; Kubernetes would SIGKILL the pod.
  it('still shuts the worker down, within the grace period plus the hand-back and webhook-drain time', async () => {
    await redis.stop();
    await eventually('worker readiness turning false', async () => (await probe('/health/ready')).status === 503, 10_000);
    const started = Date.now();
    worker.kill('SIGTERM');
    await worker.exited;
    expect(worker.child.exitCode).toBe(0);
    // WORKER_SHUTDOWN_GRACE_MS (1 s) + 10 s for hand-backs + 5 s for webhook deliveries, and slack for a loaded machine.
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(worker.logs.map((line) => line.msg)).toContain('worker stopped');
  });
});
