/**
 * After a real generation (API and worker processes from dist/, real Postgres, Redis and s3rver),
 * `/metrics` on the API and on the worker expose the series an operator watches.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type FarmProcesses, MODEL_DIR, startFarmProcesses } from '@chorus/testing';
import { probeUrl, sampleValue } from './probe-port';

const model = JSON.parse(readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8')) as { name: string; version: string };
const modelLabels = `model="${model.name}",version="${model.version}"`;

let farm: FarmProcesses;
let apiMetrics: string;
let workerMetrics: string;

beforeAll(async () => {
  farm = await startFarmProcesses('ops_metrics');
  await farm.startApi();
  const worker = await farm.startWorker('worker-1', { WORKER_MAX_BATCH: '2' });
  const { client } = await farm.createTenant('ops');
  const submitted = await client.createGeneration({ prompt: 'a warm analog pad in c minor', seconds_total: 2, steps: 8, sampler: 'euler', seed: 7 });
  // Polled over HTTP on purpose: the API's request metrics should see GET /v1/generations/:id.
  await eventually(
    'the generation to succeed',
    async () => (await client.getGeneration(submitted.id)).status === 'succeeded',
    180_000,
    200,
    farm.describe,
  );
  apiMetrics = await (await fetch(`${farm.apiUrl}/metrics`)).text();
  workerMetrics = await (await fetch(`${await probeUrl(worker)}/metrics`)).text();
}, 240_000);

afterAll(async () => {
  await farm?.close();
});

describe('GET /metrics on the API', () => {
  it('counts and times requests by method, route pattern and status', () => {
    const labels = 'method="POST",route="/v1/generations",status="202"';
    expect(sampleValue(apiMetrics, `chorus_http_requests_total{${labels}}`)).toBe(1);
    expect(sampleValue(apiMetrics, `chorus_http_request_duration_seconds_count{${labels}}`)).toBe(1);
    // Polling used the parameterised pattern, not one series per generation id.
    expect(sampleValue(apiMetrics, 'chorus_http_requests_total{method="GET",route="/v1/generations/:id",status="200"}')).toBeGreaterThanOrEqual(1);
    expect(apiMetrics).not.toMatch(/route="\/v1\/generations\/[0-9a-f-]{36}"/);
  });

  it('reports queue depth by state, with the finished job counted as completed', () => {
    for (const state of ['wait', 'prioritized', 'active', 'delayed', 'failed']) {
      expect(sampleValue(apiMetrics, `chorus_queue_jobs{queue="generations",state="${state}"}`), state).toBe(0);
    }
    expect(sampleValue(apiMetrics, 'chorus_queue_jobs{queue="generations",state="completed"}')).toBe(1);
  });
});

describe('GET /metrics on the worker', () => {
  it('has a duration histogram for every stage of the generation', () => {
    for (const stage of ['queue_wait', 'text_encoding', 'sampling', 'decoding', 'encoding', 'upload']) {
      expect(sampleValue(workerMetrics, `chorus_generation_stage_seconds_count{stage="${stage}"}`), stage).toBe(1);
      expect(sampleValue(workerMetrics, `chorus_generation_stage_seconds_sum{stage="${stage}"}`), stage).toBeGreaterThan(0);
    }
  });

  it('times each sampler step after the first and records the batch size', () => {
    // 8 steps: the first report starts the clock, the 7 after it are timed.
    expect(sampleValue(workerMetrics, 'chorus_sampler_step_seconds_count{sampler="euler"}')).toBe(7);
    expect(sampleValue(workerMetrics, 'chorus_batch_size_count')).toBe(1);
    expect(sampleValue(workerMetrics, 'chorus_batch_size_sum')).toBe(1);
  });

  it('counts the attempt as succeeded and declares the failures counter', () => {
    expect(sampleValue(workerMetrics, 'chorus_generation_attempts_total{outcome="succeeded"}')).toBe(1);
    expect(workerMetrics).toContain('# TYPE chorus_generation_failures_total counter');
  });

  it('reports the model load time, the provider it got and the busy ratio', () => {
    expect(sampleValue(workerMetrics, `chorus_model_load_seconds{${modelLabels},provider="cpu"}`)).toBeGreaterThan(0);
    expect(sampleValue(workerMetrics, `chorus_worker_info{${modelLabels},requested_provider="cpu",provider="cpu"}`)).toBe(1);
    const busy = sampleValue(workerMetrics, 'chorus_worker_busy_ratio');
    expect(busy).toBeGreaterThan(0);
    expect(busy).toBeLessThanOrEqual(1);
    expect(sampleValue(workerMetrics, 'chorus_worker_busy_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(workerMetrics, 'chorus_worker_jobs_in_progress')).toBe(0);
  });
});
