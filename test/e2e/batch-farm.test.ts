/**
 * Issue 5 end to end, in one process: the API and a worker on the shipped tiny model against a
 * fresh database, a unique BullMQ prefix and an s3rver. Rows use one sampler step so that 200 of
 * them fit the CPU budget; every service is real.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChorusClient } from '@chorus/client';
import { TenantRepository, toGeneration, type Generation } from '@chorus/db';
import { GenerationQueue } from '@chorus/queue';
import { createWorkerApp } from '../../apps/worker/src/app';
import { loadWorkerConfig } from '../../apps/worker/src/worker-config';
import { runBatch, STATE_FILE } from '../../apps/cli/src/commands/batch';
import { startApi, type ApiUnderTest } from '../api/api-under-test';
import { WebhookReceiver } from '../support/webhook-receiver';

const MODEL_DIR = path.resolve(__dirname, '../../models/chorus-tiny');
const ROWS = 200;

let api: ApiUnderTest;
let worker: INestApplicationContext;
let studio: { key: string; client: ChorusClient };
let out: string;
let receiver: WebhookReceiver;
let receiverUrl: string;

async function waitFor(id: string, timeoutMs = 120_000): Promise<Generation> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await api.db.prisma.generation.findUniqueOrThrow({ where: { id } });
    if (['succeeded', 'failed', 'canceled'].includes(row.status)) return toGeneration(row);
    if (Date.now() > deadline) throw new Error(`generation ${id} still ${row.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  // The receiver runs on loopback, which only WEBHOOK_ALLOW_LOOPBACK lets through (API and worker alike).
  receiver = new WebhookReceiver();
  receiverUrl = await receiver.start();
  api = await startApi('saas_e2e', { LOG_LEVEL: 'warn', WEBHOOK_ALLOW_LOOPBACK: '1' });
  worker = await createWorkerApp(
    loadWorkerConfig({
      ...api.s3.env,
      DATABASE_URL: api.db.url,
      REDIS_URL: api.config.REDIS_URL,
      BULLMQ_PREFIX: api.config.BULLMQ_PREFIX,
      MODEL_DIR,
      // One job at a time, so "starts next" is a strict order rather than a shared batch.
      WORKER_MAX_BATCH: '1',
      WORKER_METRICS_PORT: '0',
      WEBHOOK_ALLOW_LOOPBACK: '1',
      WORKER_PROGRESS_INTERVAL_MS: '1000',
      LOG_LEVEL: 'warn',
    }),
  );
  const { apiKey } = await new TenantRepository(api.db.prisma).create({ name: 'sound-library' });
  studio = { key: apiKey.key, client: new ChorusClient({ baseUrl: api.url, apiKey: apiKey.key }) };
  out = await mkdtemp(path.join(os.tmpdir(), 'chorus-batch-out-'));
}, 180_000);

afterAll(async () => {
  await worker?.close();
  await api?.close();
  await receiver?.close();
  if (out) await rm(out, { recursive: true, force: true });
}, 60_000);

describe('reproducibility', () => {
  it('reruns a generation with the same parameters and seed into the same audio, on the same model version', async () => {
    const original = await api.tenantA.client.createGeneration({ prompt: 'a glassy bell, 440 hz', seconds_total: 2, steps: 2, sampler: 'dpmpp-3m-sde' });
    const first = await waitFor(original.id);

    const response = await fetch(`${api.url}/v1/generations/${original.id}/rerun`, { method: 'POST', headers: api.auth(api.tenantA) });
    const rerun = await response.json();
    const second = await waitFor(rerun.id);

    expect(response.status).toBe(202);
    expect(rerun.id).not.toBe(original.id);
    expect(second).toMatchObject({ status: 'succeeded', seed: first.seed, steps: 2, sampler: 'dpmpp-3m-sde', secondsTotal: 2, modelVersion: first.modelVersion });
    const [a, b] = await Promise.all([api.s3.getObject(first.outputKey!), api.s3.getObject(second.outputKey!)]);
    expect(a.byteLength).toBeGreaterThan(1000);
    expect(sha256(b)).toBe(sha256(a));
  }, 180_000);
});

describe('webhooks from the worker', () => {
  it("announces each row's end and then the batch's, signed with the tenant's secret", async () => {
    const items = [
      { prompt: 'hooked row one', seconds_total: 1, steps: 1, webhook_url: `${receiverUrl}/rows` },
      { prompt: 'hooked row two', seconds_total: 1, steps: 1 },
    ];
    const response = await fetch(`${api.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...api.auth(api.tenantA) },
      body: JSON.stringify({ items, webhook_url: `${receiverUrl}/batches` }),
    });
    const batch = await response.json();
    const deadline = Date.now() + 120_000;
    while (!receiver.for('batch.completed').some((request) => JSON.parse(request.body).data.id === batch.id)) {
      if (Date.now() > deadline) throw new Error('no batch.completed arrived');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const secret = (await api.db.prisma.tenant.findUniqueOrThrow({ where: { id: api.tenantA.id } })).webhookSecret!;
    const verifies = (request: { headers: Record<string, unknown>; body: string }) => {
      const fields = Object.fromEntries(String(request.headers['chorus-signature']).split(',').map((part) => part.split('=')));
      return fields.v1 === createHmac('sha256', secret).update(`${fields.t}.${request.body}`).digest('hex');
    };
    const rowEvents = receiver.for('generation.succeeded').filter((request) => JSON.parse(request.body).data.batch_id === batch.id);
    const [batchEvent] = receiver.for('batch.completed').filter((request) => JSON.parse(request.body).data.id === batch.id);
    expect(rowEvents).toHaveLength(1);
    expect(JSON.parse(rowEvents[0].body).data).toMatchObject({ prompt: 'hooked row one', status: 'succeeded' });
    expect(JSON.parse(batchEvent.body).data).toMatchObject({ status: 'completed', total: 2, counts: { succeeded: 2 } });
    expect([...rowEvents, batchEvent].every(verifies)).toBe(true);
    const deliveries = await api.db.prisma.webhookDelivery.findMany({ where: { batchId: batch.id, succeeded: true } });
    expect(deliveries).toHaveLength(2);
  }, 180_000);
});

describe('fair sharing on a real worker', () => {
  it("starts another tenant's single request next, while one tenant's big batch is running", async () => {
    const items = Array.from({ length: 40 }, (_, i) => ({ prompt: `library pluck ${i}`, seconds_total: 1, steps: 1, seed: i }));
    const batch = await (
      await fetch(`${api.url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json', ...api.auth(api.tenantA) }, body: JSON.stringify({ items }) })
    ).json();
    const deadline = Date.now() + 120_000;
    while ((await api.db.prisma.generation.count({ where: { batchId: batch.id, status: 'succeeded' } })) < 3) {
      if (Date.now() > deadline) throw new Error('the batch did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const single = await api.tenantB.client.createGeneration({ prompt: 'a single snare', seconds_total: 1, steps: 1 });
    // The batch rows still waiting in BullMQ when the single request arrived.
    const queue = api.app.get(GenerationQueue).queue;
    const waiting = new Set((await queue.getPrioritized(0, -1)).map((job) => job.id));
    const done = await waitFor(single.id);

    const waitingRows = await api.db.prisma.generation.findMany({ where: { batchId: batch.id, id: { in: [...waiting].filter((id): id is string => id !== undefined) } } });
    expect(waitingRows.length).toBeGreaterThan(20);
    const startedAfter = waitingRows.filter((row) => row.startedAt !== null).map((row) => row.startedAt!.getTime());
    expect(done.startedAt!.getTime()).toBeLessThanOrEqual(Math.min(...startedAfter, Number.POSITIVE_INFINITY));
    await fetch(`${api.url}/v1/batches/${batch.id}/cancel`, { method: 'POST', headers: api.auth(api.tenantA) });
  }, 240_000);
});

describe('a batch of 200 CSV rows with chorus batch', () => {
  it('completes, its manifest matches S3, and a resumed run downloads only the missing files', async () => {
    const csvPath = path.join(out, '..', `prompts-${path.basename(out)}.csv`);
    const rows = Array.from({ length: ROWS }, (_, i) => (i === 7 ? `"=cmd|' /C calc'!A0",1,1,${i}` : `"sample ${i}: a short percussive hit",1,1,${i}`));
    await writeFile(csvPath, `prompt,seconds_total,steps,seed\n${rows.join('\n')}\n`);
    const options = { file: csvPath, out, apiUrl: api.url, apiKey: studio.key, pollIntervalMs: 300 };

    // First run: interrupted once 60 files are down, the way Ctrl-C would.
    const interrupt = new AbortController();
    let firstRunDownloads = 0;
    await expect(
      runBatch({
        ...options,
        signal: interrupt.signal,
        onEvent: (event) => {
          if (event.type === 'downloaded' && ++firstRunDownloads === 60) interrupt.abort();
        },
      }),
    ).rejects.toThrow();
    const afterFirst = (await readdir(out)).filter((name) => name.endsWith('.wav'));
    const firstFiles = new Map(await Promise.all(afterFirst.map(async (name) => [name, (await stat(path.join(out, name))).mtimeMs] as const)));
    expect(firstFiles.size).toBeGreaterThanOrEqual(60);

    // Second run: the same command resumes the same batch and fetches only what is missing.
    const downloadedNow: string[] = [];
    const result = await runBatch({ ...options, onEvent: (event) => event.type === 'downloaded' && downloadedNow.push(path.basename(event.file)) });

    expect(result.status).toBe('completed');
    expect(result.total).toBe(ROWS);
    expect(result.failed).toEqual([]);
    expect(result.kept).toBe(firstFiles.size);
    expect(result.downloaded).toBe(ROWS - firstFiles.size);
    expect(downloadedNow.filter((name) => firstFiles.has(name))).toEqual([]);
    for (const [name, mtimeMs] of firstFiles) expect((await stat(path.join(out, name))).mtimeMs).toBe(mtimeMs);
    const state = JSON.parse(await readFile(path.join(out, STATE_FILE), 'utf8'));
    expect(state.batchId).toBe(result.batchId);
    expect(await api.db.prisma.batch.count({ where: { tenant: { name: 'sound-library' } } })).toBe(1);

    // The manifest: one line per row, each succeeded, its object in S3 with the bytes it says,
    // and the same bytes in the downloaded file.
    const manifest = await studio.client.readBatchManifest(result.batchId);
    expect(manifest.map((line) => line.row)).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));
    const local = (await readdir(out)).filter((name) => name.endsWith('.wav'));
    expect(local).toHaveLength(ROWS);
    for (const line of manifest) {
      expect(line).toMatchObject({ status: 'succeeded', seed: line.row - 1, params: { steps: 1, seconds_total: 1 } });
      const object = await api.s3.getObject(line.audio!.key);
      expect(object.byteLength).toBe(line.audio!.bytes);
      const file = local.find((name) => name.startsWith(`${String(line.row).padStart(3, '0')}-`))!;
      expect(sha256(await readFile(path.join(out, file)))).toBe(sha256(object));
    }
    expect(manifest[7].params.prompt).toBe("=cmd|' /C calc'!A0");
    const batch = await studio.client.getBatch(result.batchId);
    expect(batch).toMatchObject({ status: 'completed', counts: { succeeded: ROWS } });
  }, 1_500_000);
});
