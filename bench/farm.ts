/**
 * The farm as real processes from dist/ (the API and workers as child processes) on a database,
 * BullMQ prefix and s3rver of its own, so a benchmark never touches anyone's data. The same shape
 * as test/support/farm-processes.ts, which lives outside the build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL } from '@chorus/contracts';
import { createPrismaClient, migrate, TenantRepository, type PrismaClient } from '@chorus/db';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };

export interface Service {
  name: string;
  child: ChildProcess;
  lines: string[];
  stop(): Promise<void>;
}

export class BenchFarm {
  readonly services = new Map<string, Service>();
  apiUrl = '';
  apiKey = '';

  private constructor(
    readonly root: string,
    readonly env: Record<string, string>,
    readonly prisma: PrismaClient,
    private readonly cleanup: () => Promise<void>,
  ) {}

  static async start(root: string, modelDir: string): Promise<BenchFarm> {
    const server = new URL(process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
    const name = `chorus_bench_${randomBytes(4).toString('hex')}`;
    server.pathname = `/${name}`;
    const databaseUrl = server.toString();
    await migrate(databaseUrl);
    const prisma = createPrismaClient(databaseUrl, { maxConnections: 4 });
    const directory = await mkdtemp(path.join(os.tmpdir(), 'chorus-bench-s3-'));
    const s3 = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: 'chorus-bench' }] });
    const { port } = await s3.run();
    const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
    const prefix = `chorus-bench-${randomBytes(4).toString('hex')}`;
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      BULLMQ_PREFIX: prefix,
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_REGION: 'us-east-1',
      S3_BUCKET: 'chorus-bench',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
      MODEL_DIR: modelDir,
      ORT_EXECUTION_PROVIDER: 'cpu',
      LOG_LEVEL: 'warn',
      WORKER_METRICS_PORT: '0',
      WORKER_METRICS_HOST: '127.0.0.1',
      WORKER_SHUTDOWN_GRACE_MS: '2000',
    };
    const farm = new BenchFarm(root, env, prisma, async () => {
      await prisma.$disconnect();
      await s3.close();
      await rm(directory, { recursive: true, force: true });
      await deletePrefix(redisUrl, prefix).catch(() => undefined);
      await dropDatabase(databaseUrl).catch(() => undefined);
    });
    const { apiKey } = await new TenantRepository(prisma).create({ name: `bench-${prefix}` });
    farm.apiKey = apiKey.key;
    return farm;
  }

  private spawn(name: string, entry: string, extra: Record<string, string>): Service {
    const child = spawn(process.execPath, [path.join(this.root, entry)], {
      cwd: this.root,
      env: { ...process.env, ...this.env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const keep = (chunk: Buffer) => {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (lines.length > 2000) lines.splice(0, lines.length - 2000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const service: Service = {
      name,
      child,
      lines,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      },
    };
    this.services.set(name, service);
    return service;
  }

  async startApi(): Promise<void> {
    const port = await freePort();
    // The API's own log lines at info would cost the very CPU being measured.
    const api = this.spawn('api', 'dist/apps/api/src/main.js', { PORT: String(port), HOST: '127.0.0.1' });
    this.apiUrl = `http://127.0.0.1:${port}`;
    await until(async () => (await fetch(`${this.apiUrl}/health/live`).catch(() => undefined))?.ok === true, 180_000, () => `the API did not listen\n${api.lines.slice(-20).join('\n')}`);
  }

  async startWorker(name: string, extra: Record<string, string> = {}): Promise<void> {
    const worker = this.spawn(name, 'dist/apps/worker/src/main.js', { WORKER_ID: name, LOG_LEVEL: 'info', WORKER_PROGRESS_INTERVAL_MS: '1000', ...extra });
    await until(async () => worker.lines.some((line) => line.includes('"worker ready"')), 180_000, () => `${name} not ready\n${worker.lines.slice(-20).join('\n')}`);
  }

  async stopWorkers(): Promise<void> {
    await Promise.all([...this.services.values()].filter((s) => s.name !== 'api').map(async (s) => {
      await s.stop();
      this.services.delete(s.name);
    }));
  }

  /** POST /v1/generations; returns the id. */
  async submit(body: Record<string, unknown>): Promise<string> {
    const response = await fetch(`${this.apiUrl}/v1/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as { id?: string };
    if (response.status !== 202 || !json.id) throw new Error(`submit answered ${response.status}: ${JSON.stringify(json).slice(0, 300)}`);
    return json.id;
  }

  async close(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.stop()));
    await this.cleanup();
  }
}

export interface FinishedRow {
  id: string;
  status: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  inferenceMs: number | null;
  encodeMs: number | null;
  uploadMs: number | null;
  queueMs: number | null;
}

/**
 * Resolves each id once Postgres (the system of record) shows it finished: one query per tick for
 * all the ids in flight, so a hundred waiting clients cost one poll, not a hundred.
 */
export class CompletionWatcher {
  private readonly waiting = new Map<string, (row: FinishedRow) => void>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly prisma: PrismaClient, private readonly everyMs = 20) {}

  wait(id: string): Promise<FinishedRow> {
    const done = new Promise<FinishedRow>((resolve) => this.waiting.set(id, resolve));
    if (!this.timer) this.tick();
    return done;
  }

  private tick(): void {
    this.timer = setTimeout(async () => {
      const ids = [...this.waiting.keys()];
      const rows = ids.length
        ? await this.prisma.generation.findMany({
            where: { id: { in: ids }, status: { in: ['succeeded', 'failed', 'canceled'] } },
            select: { id: true, status: true, createdAt: true, startedAt: true, finishedAt: true, inferenceMs: true, encodeMs: true, uploadMs: true, queueMs: true },
          })
        : [];
      for (const row of rows) {
        this.waiting.get(row.id)?.(row);
        this.waiting.delete(row.id);
      }
      if (this.waiting.size > 0) this.tick();
      else this.timer = undefined;
    }, this.everyMs);
  }
}

async function until(probe: () => Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
