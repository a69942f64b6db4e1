import { describe, expect, it } from 'vitest';
import { OUTPUT_FORMATS, SAMPLERS } from '@chorus/contracts';
import {
  GenerationRepository,
  hashApiKey,
  InvalidCursorError,
  type NewGeneration,
  TenantExistsError,
  TenantRepository,
  WorkerRepository,
} from '@chorus/db';
import { useTestDatabase } from '../support/database';

const db = useTestDatabase('repositories');

function request(tenantId: string, overrides: Partial<NewGeneration> = {}): NewGeneration {
  return {
    tenantId,
    prompt: 'a warm analog pad in C minor',
    secondsStart: 0,
    secondsTotal: 4,
    steps: 8,
    cfgScale: 6,
    sampler: 'dpmpp-3m-sde',
    seed: 0xffff_fffe,
    outputFormat: 'wav',
    priority: 5,
    ...overrides,
  };
}

describe('TenantRepository', () => {
  it('creates a tenant whose API key authenticates it, storing only the key hash', async () => {
    const tenants = new TenantRepository(db.prisma);
    const { tenant, apiKey } = await tenants.create({ name: 'acme' });

    expect(apiKey.key).toMatch(/^chorus_[A-Za-z0-9_-]{43}$/);
    expect(apiKey.key.startsWith(apiKey.prefix)).toBe(true);
    const stored = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(stored.keyHash).toBe(hashApiKey(apiKey.key));
    expect(JSON.stringify(stored)).not.toContain(apiKey.key);
    expect((await tenants.findByApiKey(apiKey.key))?.id).toBe(tenant.id);
  });

  it('rejects unknown, malformed and revoked keys', async () => {
    const tenants = new TenantRepository(db.prisma);
    const { tenant, apiKey } = await tenants.create({ name: 'revoker' });
    expect(await tenants.findByApiKey(`${apiKey.key}x`)).toBeNull();
    expect(await tenants.findByApiKey('not-a-key')).toBeNull();
    expect(await tenants.revokeApiKey(tenant.id, apiKey.id)).toBe(true);
    expect(await tenants.findByApiKey(apiKey.key)).toBeNull();
  });

  it('refuses a second tenant with the same name', async () => {
    const tenants = new TenantRepository(db.prisma);
    await tenants.create({ name: 'twin' });
    await expect(tenants.create({ name: 'twin' })).rejects.toBeInstanceOf(TenantExistsError);
  });
});

describe('GenerationRepository', () => {
  it('stores a request queued, with a seed up to 2^32 - 1 read back as a number', async () => {
    const { tenant } = await new TenantRepository(db.prisma).create({ name: 'seeds' });
    const generations = new GenerationRepository(db.prisma);
    const generation = await generations.createQueued(request(tenant.id, { seed: 0xffff_ffff }));
    expect(generation).toMatchObject({ status: 'queued', progress: 0, attempts: 0, seed: 0xffff_ffff });
    expect((await generations.findById(generation.id))?.seed).toBe(0xffff_ffff);
  });

  it('stores every sampler and output format the API accepts, read back by its wire name through raw SQL and Prisma alike', async () => {
    const { tenant } = await new TenantRepository(db.prisma).create({ name: 'vocabulary' });
    const generations = new GenerationRepository(db.prisma);
    for (const [i, sampler] of SAMPLERS.entries()) {
      const outputFormat = OUTPUT_FORMATS[i % OUTPUT_FORMATS.length];
      const generation = await generations.createQueued(request(tenant.id, { sampler, outputFormat }));
      expect(generation).toMatchObject({ sampler, outputFormat });
      expect(await generations.findById(generation.id)).toMatchObject({ sampler, outputFormat });
    }
    await expect(db.prisma.$executeRaw`UPDATE "generations" SET "sampler" = 'ddim'`).rejects.toThrow(/invalid input value for enum sampler/);
  });

  it('answers a new generation exactly as reading it back does', async () => {
    const { tenant } = await new TenantRepository(db.prisma).create({ name: 'read-back' });
    const generations = new GenerationRepository(db.prisma);
    const generation = await generations.createQueued(
      request(tenant.id, { negativePrompt: 'hiss', webhookUrl: 'https://example.com/hook' }),
    );
    expect(generation).toEqual(await generations.findById(generation.id));
  });

  it("answers null for another tenant's generation and for ids that are not uuids", async () => {
    const tenants = new TenantRepository(db.prisma);
    const owner = (await tenants.create({ name: 'owner' })).tenant;
    const stranger = (await tenants.create({ name: 'stranger' })).tenant;
    const generations = new GenerationRepository(db.prisma);
    const generation = await generations.createQueued(request(owner.id));
    expect(await generations.findForTenant(stranger.id, generation.id)).toBeNull();
    expect(await generations.findForTenant(owner.id, 'nope')).toBeNull();
    expect((await generations.findForTenant(owner.id, generation.id))?.id).toBe(generation.id);
  });

  it('lists newest first across cursor pages without gaps or repeats, filtered by status and prompt', async () => {
    const { tenant } = await new TenantRepository(db.prisma).create({ name: 'lister' });
    const generations = new GenerationRepository(db.prisma);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push((await generations.createQueued(request(tenant.id, { prompt: i % 2 ? `kick drum ${i}` : `pad ${i}` }))).id);
    }
    await generations.markCanceled(ids[0]);

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await generations.list(tenant.id, { limit: 3, cursor });
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const kicks = await generations.list(tenant.id, { prompt: 'KICK' });
    expect(kicks.items.map((item) => item.prompt).sort()).toEqual(['kick drum 1', 'kick drum 3', 'kick drum 5']);
    const canceled = await generations.list(tenant.id, { status: 'canceled' });
    expect(canceled.items.map((item) => item.id)).toEqual([ids[0]]);
    await expect(generations.list(tenant.id, { cursor: 'garbage' })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('walks queued → running → succeeded, recording the worker, attempts and timings', async () => {
    const { tenant } = await new TenantRepository(db.prisma).create({ name: 'lifecycle' });
    const generations = new GenerationRepository(db.prisma);
    const generation = await generations.createQueued(request(tenant.id));

    const running = await generations.markRunning(generation.id, { workerId: 'w1', modelName: 'chorus-tiny', modelVersion: '0.1.0' });
    expect(running).toMatchObject({ status: 'running', attempts: 1, workerId: 'w1', modelName: 'chorus-tiny' });
    expect(running!.startedAt!.getTime()).toBeGreaterThanOrEqual(running!.queuedAt.getTime());
    expect(running!.queueMs).toBe(running!.startedAt!.getTime() - running!.queuedAt.getTime());

    await generations.updateProgress(generation.id, 0.5);
    expect((await generations.findById(generation.id))?.progress).toBe(0.5);

    const done = await generations.markSucceeded(generation.id, {
      outputKey: `generations/${tenant.id}/${generation.id}.wav`,
      outputBytes: 1234,
      outputSeconds: 4,
      sampleRate: 44100,
      channels: 2,
      inferenceMs: 100.4,
      encodeMs: 5,
      uploadMs: 7,
    });
    expect(done).toMatchObject({ status: 'succeeded', progress: 1, outputBytes: 1234, inferenceMs: 100, encodeMs: 5, uploadMs: 7 });
    expect(done!.finishedAt).not.toBeNull();
    // Finished is final: no later transition applies.
    expect(await generations.markFailed(generation.id, 'late')).toBeNull();
    expect(await generations.markCanceled(generation.id)).toBeNull();
    expect(await generations.markRunning(generation.id, { workerId: 'w2', modelName: 'm', modelVersion: 'v' })).toBeNull();
  });

  it('keeps a retried generation queued with its error, and fails it on the last attempt', async () => {
    const { tenant } = await new TenantRepository(db.prisma).create({ name: 'retries' });
    const generations = new GenerationRepository(db.prisma);
    const generation = await generations.createQueued(request(tenant.id));
    await generations.markRunning(generation.id, { workerId: 'w1', modelName: 'm', modelVersion: 'v' });
    expect(await generations.markRetrying(generation.id, 'boom 1')).toMatchObject({ status: 'queued', error: 'boom 1', attempts: 1 });
    await generations.markRunning(generation.id, { workerId: 'w2', modelName: 'm', modelVersion: 'v' });
    expect(await generations.markFailed(generation.id, 'boom 2')).toMatchObject({ status: 'failed', error: 'boom 2', attempts: 2, workerId: 'w2' });
  });

  it('records a cancel request, which stops a worker from starting the generation', async () => {
    const { tenant } = await new TenantRepository(db.prisma).create({ name: 'cancels' });
    const generations = new GenerationRepository(db.prisma);
    const generation = await generations.createQueued(request(tenant.id));
    const requested = await generations.requestCancel(tenant.id, generation.id);
    expect(requested?.cancelRequestedAt).toBeInstanceOf(Date);
    expect(await generations.markRunning(generation.id, { workerId: 'w1', modelName: 'm', modelVersion: 'v' })).toBeNull();
    expect(await generations.markCanceled(generation.id)).toMatchObject({ status: 'canceled' });
  });

  it('finds rows queued for longer than a given age, for the reconciler', async () => {
    const { tenant } = await new TenantRepository(db.prisma).create({ name: 'reconcile' });
    const generations = new GenerationRepository(db.prisma);
    const old = await generations.createQueued(request(tenant.id));
    await db.prisma.$executeRaw`UPDATE generations SET queued_at = now() - interval '1 minute' WHERE id = ${old.id}::uuid`;
    const fresh = await generations.createQueued(request(tenant.id));
    const found = (await generations.findQueuedOlderThan(30_000)).map((g) => g.id);
    expect(found).toContain(old.id);
    expect(found).not.toContain(fresh.id);
  });
});

describe('WorkerRepository', () => {
  it('creates a worker row on the first heartbeat and refreshes it after', async () => {
    const workers = new WorkerRepository(db.prisma);
    const beat = { id: 'worker-a', host: 'h', device: 'cpu', model: 'chorus-tiny@0.1.0', currentGenerationId: null };
    await workers.heartbeat(beat);
    const first = await workers.findById('worker-a');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await workers.heartbeat({ ...beat, currentGenerationId: '00000000-0000-4000-8000-000000000001' });
    const second = await workers.findById('worker-a');
    expect(second!.lastHeartbeatAt.getTime()).toBeGreaterThan(first!.lastHeartbeatAt.getTime());
    expect(second!.startedAt).toEqual(first!.startedAt);
    expect(second!.currentGenerationId).toBe('00000000-0000-4000-8000-000000000001');
    expect((await workers.listAlive(60_000)).map((w) => w.id)).toContain('worker-a');
    await workers.remove('worker-a');
    expect(await workers.findById('worker-a')).toBeNull();
  });
});
