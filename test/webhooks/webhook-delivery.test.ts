import { createHmac } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchRepository, GenerationRepository, TenantRepository, toGeneration, WebhookDeliveryRepository, type Generation, type Tenant } from '@chorus/db';
import { OutcomeNotifier, resolveWithDns, WebhookQueue, type HostResolver } from '@chorus/webhooks';
import { WebhookConsumer } from '../../apps/worker/src/webhooks/webhook-consumer';
import { useTestDatabase } from '../support/database';
import { useTestQueueConnection } from '../support/redis';
import { WebhookReceiver } from '../support/webhook-receiver';

const db = useTestDatabase('webhooks');
const connection = useTestQueueConnection('webhooks');

/** A name that resolved somewhere public when it was given, and now resolves inside the network. */
const rebinding: HostResolver = async (hostname) => (hostname === 'rebound.example' ? [{ address: '10.1.2.3', family: 4 }] : resolveWithDns(hostname));

let receiver: WebhookReceiver;
let baseUrl: string;
let queue: WebhookQueue;
let consumer: WebhookConsumer;
let notifier: OutcomeNotifier;
let tenant: Tenant;

/** Polls until the probe returns a non-empty list. */
async function until<T>(probe: () => Promise<T[]>, timeoutMs = 15_000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value.length > 0) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function queuedGeneration(webhookUrl: string | null, batchId: string | null = null): Promise<Generation> {
  const generation = await new GenerationRepository(db.prisma).createQueued({
    tenantId: tenant.id,
    batchId,
    prompt: 'a bell in a cathedral',
    secondsStart: 0,
    secondsTotal: 2,
    steps: 4,
    cfgScale: 6,
    sampler: 'euler',
    seed: 1234,
    outputFormat: 'wav',
    webhookUrl,
    priority: 5,
  });
  return generation;
}

async function finish(generation: Generation, status: 'succeeded' | 'failed' | 'canceled'): Promise<Generation> {
  const row = await db.prisma.generation.update({
    where: { id: generation.id },
    data: { status, finishedAt: new Date(), outputKey: status === 'succeeded' ? `generations/${tenant.id}/${generation.id}.wav` : null, outputBytes: 1000 },
  });
  return toGeneration(row);
}

async function finishedGeneration(webhookUrl: string | null, status: 'succeeded' | 'failed' | 'canceled' = 'succeeded'): Promise<Generation> {
  return finish(await queuedGeneration(webhookUrl), status);
}

beforeAll(async () => {
  receiver = new WebhookReceiver();
  baseUrl = await receiver.start();
  ({ tenant } = await new TenantRepository(db.prisma).create({ name: 'hooked' }));
  queue = new WebhookQueue(connection, { attempts: 4, backoffMs: 200 });
  consumer = new WebhookConsumer(connection, db.prisma, pino({ level: 'silent' }), { allowLoopback: true, resolve: rebinding, timeoutMs: 2_000 });
  notifier = new OutcomeNotifier(queue, new BatchRepository(db.prisma));
});

afterAll(async () => {
  await consumer?.close();
  await queue?.close();
  await receiver?.close();
});

describe('webhook delivery', () => {
  it('signs each delivery so that a receiver following docs/webhooks.md verifies it', async () => {
    const generation = await finishedGeneration(`${baseUrl}/signed`);

    await notifier.generationFinished(generation);
    const [delivery] = await until(async () => receiver.for('generation.succeeded').filter((r) => JSON.parse(r.body).data.id === generation.id));

    // The documented scheme, written out here rather than calling the library under test.
    const header = String(delivery.headers['chorus-signature']);
    const fields = Object.fromEntries(header.split(',').map((part) => part.split('=') as [string, string]));
    const expected = createHmac('sha256', tenant.webhookSecret!).update(`${fields.t}.${delivery.body}`).digest('hex');
    expect(fields.v1).toBe(expected);
    expect(Math.abs(Date.now() / 1000 - Number(fields.t))).toBeLessThan(30);
    const event = JSON.parse(delivery.body);
    expect(event).toMatchObject({ type: 'generation.succeeded', data: { id: generation.id, status: 'succeeded', seed: 1234 } });
    expect(delivery.headers['chorus-delivery']).toBe(event.id);
  });

  it('retries a 500 with growing delays and records every attempt in Postgres', async () => {
    receiver.plan = [500, 500, 200];
    const generation = await finishedGeneration(`${baseUrl}/flaky`, 'failed');

    await notifier.generationFinished(generation);
    const attempts = await until(async () => {
      const rows = await new WebhookDeliveryRepository(db.prisma).forGeneration(generation.id);
      return rows.some((row) => row.succeeded) ? rows : [];
    });

    expect(attempts.map((row) => [row.attempt, row.statusCode, row.succeeded])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ]);
    expect(new Set(attempts.map((row) => row.eventId)).size).toBe(1);
    const arrivals = receiver.for('generation.failed').map((request) => request.at);
    expect(arrivals).toHaveLength(3);
    // Exponential backoff from 200 ms: about 200 ms, then about 400 ms.
    expect(arrivals[1] - arrivals[0]).toBeGreaterThanOrEqual(180);
    expect(arrivals[2] - arrivals[1]).toBeGreaterThanOrEqual(360);
  });

  it('refuses, at delivery, a name that now resolves to a private address, and does not retry it', async () => {
    const generation = await finishedGeneration('http://rebound.example/hook', 'canceled');

    await notifier.generationFinished(generation);
    const [attempt] = await until(async () => {
      const rows = await new WebhookDeliveryRepository(db.prisma).forGeneration(generation.id);
      return rows;
    });
    await new Promise((resolve) => setTimeout(resolve, 800));

    expect(attempt).toMatchObject({ succeeded: false, statusCode: null, address: null });
    expect(attempt.error).toMatch(/private.*10\.1\.2\.3/);
    expect(await new WebhookDeliveryRepository(db.prisma).forGeneration(generation.id)).toHaveLength(1);
  });

  it('refuses the cloud metadata address at delivery', async () => {
    const generation = await finishedGeneration('http://169.254.169.254/latest/meta-data/');

    await notifier.generationFinished(generation);
    const [attempt] = await until(async () => {
      const rows = await new WebhookDeliveryRepository(db.prisma).forGeneration(generation.id);
      return rows;
    });

    expect(attempt.succeeded).toBe(false);
    expect(attempt.error).toMatch(/metadata/);
  });

  it('queues one delivery when the same outcome is announced twice (the processor and a failure handler, say)', async () => {
    const generation = await finishedGeneration(`${baseUrl}/twice`, 'failed');

    await notifier.generationFinished(generation);
    await notifier.generationFinished(generation);
    await until(async () => receiver.received.filter((r) => JSON.parse(r.body).data.id === generation.id));
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(receiver.received.filter((r) => JSON.parse(r.body).data.id === generation.id)).toHaveLength(1);
  });

  it('announces a batch once, when its last item ends', async () => {
    const batches = new BatchRepository(db.prisma);
    const batch = await db.prisma.batch.create({ data: { tenantId: tenant.id, total: 2, webhookUrl: `${baseUrl}/batch` } });
    const [first, second] = [await queuedGeneration(null, batch.id), await queuedGeneration(null, batch.id)];
    await notifier.generationFinished(await finish(first, 'succeeded'));
    const last = await finish(second, 'failed');

    // Two actors reporting the last item at once: one announcement.
    await Promise.all([notifier.generationFinished(last), notifier.generationFinished(last)]);
    const [delivery] = await until(async () => receiver.for('batch.completed').filter((r) => JSON.parse(r.body).data.id === batch.id));
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(receiver.for('batch.completed').filter((r) => JSON.parse(r.body).data.id === batch.id)).toHaveLength(1);
    expect(JSON.parse(delivery.body).data).toMatchObject({ status: 'completed', total: 2, counts: { succeeded: 1, failed: 1 } });
    expect((await batches.findById(batch.id))?.finishedAt).not.toBeNull();
  });
});
