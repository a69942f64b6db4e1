/**
 * A worker started in-process against real services: a fresh migrated database, a unique BullMQ
 * prefix on the test Redis, an s3rver, and the shipped model (models/chorus-tiny).
 *
 *   const farm = await startWorkerFarm('label');
 *   const worker = await farm.startWorker({ WORKER_ID: 'w1' });
 *   const generation = await farm.submit({ steps: 4 });   // inserted queued + job added
 *   … await farm.close();
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import type { INestApplicationContext } from '@nestjs/common';
import { type Generation, GenerationRepository, type NewGeneration, TenantRepository } from '@chorus/db';
import { CancelBroadcast, GenerationEventSubscriber, GenerationQueue, type QueueConnection } from '@chorus/queue';
import { createWorkerApp } from '../../apps/worker/src/app';
import { loadWorkerConfig, type WorkerConfig } from '../../apps/worker/src/worker-config';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestQueueConnection, deletePrefix } from '../support/redis';
import { startTestS3, type TestS3 } from '@chorus/testing';

export const MODEL_DIR = path.resolve(__dirname, '../../models/chorus-tiny');

export interface RunningWorker {
  config: WorkerConfig;
  app: INestApplicationContext;
  /** Parsed JSON log lines. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface WorkerFarm {
  db: TestDatabase;
  s3: TestS3;
  connection: QueueConnection;
  tenantId: string;
  generations: GenerationRepository;
  queue: GenerationQueue;
  cancels: CancelBroadcast;
  events: GenerationEventSubscriber;
  /** The environment a worker of this farm gets (also for worker processes). */
  env: Record<string, string>;
  startWorker(env?: Record<string, string>): Promise<RunningWorker>;
  /** Inserts a queued generation (short defaults) and adds its job, as the API does. */
  submit(overrides?: Partial<NewGeneration>, options?: { enqueue?: boolean }): Promise<Generation>;
  waitForStatus(id: string, statuses: Generation['status'][], timeoutMs?: number): Promise<Generation>;
  close(): Promise<void>;
}

export async function startWorkerFarm(label: string): Promise<WorkerFarm> {
  const db = await createTestDatabase(`worker_${label}`);
  const s3 = await startTestS3();
  const connection = createTestQueueConnection(`worker-${label}`);
  const { tenant } = await new TenantRepository(db.prisma).create({ name: `tenant-${label}` });
  const generations = new GenerationRepository(db.prisma);
  const queue = new GenerationQueue(connection);
  const cancels = new CancelBroadcast(connection);
  const events = new GenerationEventSubscriber(connection);
  const workers: RunningWorker[] = [];
  const env: Record<string, string> = {
    ...s3.env,
    DATABASE_URL: db.url,
    REDIS_URL: connection.redisUrl,
    BULLMQ_PREFIX: connection.prefix,
    MODEL_DIR,
    LOG_LEVEL: 'debug',
    WORKER_HEARTBEAT_MS: '500',
    WORKER_PROGRESS_INTERVAL_MS: '0',
    WORKER_SHUTDOWN_GRACE_MS: '2000',
    WORKER_METRICS_PORT: '0',
    WORKER_METRICS_HOST: '127.0.0.1',
  };

  const farm: WorkerFarm = {
    db,
    s3,
    connection,
    tenantId: tenant.id,
    generations,
    queue,
    cancels,
    events,
    env,
    async startWorker(extra = {}) {
      const config = loadWorkerConfig({ ...env, ...extra });
      const logs: Record<string, unknown>[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logs.push(JSON.parse(line));
          done();
        },
      });
      const app = await createWorkerApp(config, { logDestination: destination });
      const worker: RunningWorker = {
        config,
        app,
        logs,
        close: async () => {
          const index = workers.indexOf(worker);
          if (index < 0) return;
          workers.splice(index, 1);
          await app.close();
        },
      };
      workers.push(worker);
      return worker;
    },
    async submit(overrides = {}, options = {}) {
      const generation = await generations.createQueued({
        tenantId: tenant.id,
        prompt: 'a sine tone at 440 hz',
        secondsStart: 0,
        secondsTotal: 1.5,
        steps: 4,
        cfgScale: 5,
        sampler: 'dpmpp-2m',
        seed: 1234,
        outputFormat: 'wav',
        priority: 5,
        ...overrides,
      });
      if (options.enqueue !== false) await queue.add({ generationId: generation.id, tenantId: tenant.id });
      return generation;
    },
    async waitForStatus(id, statuses, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const row = await generations.findById(id);
        if (row && statuses.includes(row.status)) return row;
        if (Date.now() > deadline) throw new Error(`generation ${id} is ${row?.status}, not ${statuses.join('|')}, after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      for (const worker of [...workers]) await worker.close();
      await Promise.all([queue.close(), cancels.close(), events.close()]);
      await deletePrefix(connection);
      await s3.close();
      await db.drop();
    },
  };
  return farm;
}
