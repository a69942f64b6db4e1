/**
 * The farm as real processes from dist/: an API and any number of workers as child processes, on
 * a fresh database, a unique BullMQ prefix and an s3rver — or on servers a fault test brings
 * (a private Redis or Postgres, a proxy in front of S3). Every line each process writes is kept,
 * so tests can read the logs (and assert what they must never contain).
 *
 *   const farm = await startFarmProcesses('kill');
 *   await farm.startWorker('w1');  await farm.startApi();
 *   const tenant = await farm.createTenant('acme');   // { id, apiKey, client }
 *   … farm.services.get('w1')!.kill('SIGKILL'); … await farm.close();
 *
 * Children are SIGKILLed if the test process exits without closing the farm.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ChorusClient } from '@chorus/client';
import { GenerationRepository, TenantRepository, toGeneration, type Generation } from '@chorus/db';
import type { QueueConnection } from '@chorus/queue';
import { createTestDatabase, type TestDatabase } from './database';
import { createTestQueueConnection, deletePrefix } from './redis';
import { freePort, sleep } from './polling';
import { startTestS3, type TestS3 } from './s3';

/** The repository: the nearest folder above this file with a package.json (from libs/ or dist/libs/). */
export const ROOT = repositoryRoot(__dirname);
export const API_ENTRY = path.join(ROOT, 'dist/apps/api/src/main.js');
export const WORKER_ENTRY = path.join(ROOT, 'dist/apps/worker/src/main.js');
export const MODEL_DIR = path.join(ROOT, 'models/chorus-tiny');

const MAX_KEPT_LINES = 50_000;

function repositoryRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** One child process and everything it wrote. */
export class FarmProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<void>;
  private partial = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      const text = this.partial + chunk.toString('utf8');
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts.filter(Boolean));
      if (this.lines.length > MAX_KEPT_LINES) this.lines.splice(0, this.lines.length - MAX_KEPT_LINES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** JSON log lines, parsed (other lines skipped). */
  get logs(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Sends a signal without waiting: SIGKILL is a crash, SIGTERM a polite stop. */
  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Resolves when a log line matches, or rejects after the timeout (or if the process exits). */
  async waitForLine(match: (line: string) => boolean, timeoutMs: number, what = 'a log line'): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.tail()}`);
      await sleep(100);
    }
  }

  tail(lines = 40): string {
    return `--- ${this.name}:\n${this.lines.slice(-lines).join('\n')}`;
  }
}

export interface FarmTenant {
  id: string;
  name: string;
  apiKey: string;
  client: ChorusClient;
}

export interface FarmOptions {
  /** A migrated database the test owns (on a private Postgres); default: a fresh one on the test server. */
  database?: { url: string; prisma: TestDatabase['prisma'] };
  /** Default: the test Redis. */
  redisUrl?: string;
  /** Environment for every process. */
  env?: Record<string, string>;
}

export interface FarmProcesses {
  db?: TestDatabase;
  databaseUrl: string;
  s3: TestS3;
  connection: QueueConnection;
  generations: GenerationRepository;
  tenants: TenantRepository;
  services: Map<string, FarmProcess>;
  /** The environment processes started from now on get (a test may point S3_ENDPOINT at a proxy). */
  env: Record<string, string>;
  apiUrl?: string;
  startApi(env?: Record<string, string>): Promise<FarmProcess>;
  startWorker(name: string, env?: Record<string, string>): Promise<FarmProcess>;
  /** A tenant and its key; `operator` lets the key see the Farm view's queue and workers. */
  createTenant(name: string, options?: { operator?: boolean }): Promise<FarmTenant>;
  /** Polls Postgres until every id has one of the statuses. */
  waitForStatuses(ids: string[], statuses: Generation['status'][], timeoutMs: number): Promise<Generation[]>;
  /** Every line every process wrote. */
  allLines(): string[];
  describe(): string;
  close(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export async function startFarmProcesses(label: string, options: FarmOptions = {}): Promise<FarmProcesses> {
  for (const entry of [API_ENTRY, WORKER_ENTRY]) {
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first (npm test does)`);
  }
  installExitHook();
  const db = options.database ? undefined : await createTestDatabase(label);
  const database = options.database ?? db!;
  const s3 = await startTestS3();
  const connection = { ...createTestQueueConnection(label), ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}) };
  return assemble(label, { db, databaseUrl: database.url, s3, connection, prisma: database.prisma, options });
}

function assemble(
  label: string,
  parts: {
    db: TestDatabase | undefined;
    databaseUrl: string;
    s3: TestS3;
    connection: QueueConnection;
    prisma: TestDatabase['prisma'];
    options: FarmOptions;
  },
): FarmProcesses {
  const { db, databaseUrl, s3, connection, prisma, options } = parts;
  const services = new Map<string, FarmProcess>();
  const env: Record<string, string> = {
    ...s3.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: connection.redisUrl,
    BULLMQ_PREFIX: connection.prefix,
    MODEL_DIR,
    ORT_EXECUTION_PROVIDER: 'cpu',
    LOG_LEVEL: 'info',
    // Fault tests run several workers on one machine: no fixed probe port, quick heartbeats.
    WORKER_METRICS_PORT: '0',
    WORKER_METRICS_HOST: '127.0.0.1',
    WORKER_HEARTBEAT_MS: '500',
    WORKER_PROGRESS_INTERVAL_MS: '0',
    WORKER_SHUTDOWN_GRACE_MS: '2000',
    ...options.env,
  };
  const generations = new GenerationRepository(prisma);
  const tenants = new TenantRepository(prisma);

  const spawnService = (name: string, entry: string, extra: Record<string, string>): FarmProcess => {
    if (services.get(name)?.running) throw new Error(`${name} is already running`);
    const child = spawn(process.execPath, [entry], {
      cwd: ROOT,
      env: { ...process.env, ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const service = new FarmProcess(name, child);
    services.set(name, service);
    return service;
  };

  const farm: FarmProcesses = {
    db,
    databaseUrl,
    s3,
    connection,
    generations,
    tenants,
    services,
    env,
    async startApi(extra = {}) {
      const port = await freePort();
      const api = spawnService('api', API_ENTRY, { PORT: String(port), HOST: '127.0.0.1', ...extra });
      farm.apiUrl = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 180_000;
      for (;;) {
        const ok = await fetch(`${farm.apiUrl}/health/live`).then((r) => r.ok, () => false);
        if (ok) return api;
        if (!api.running) throw new Error(`the API exited before it listened\n${api.tail()}`);
        if (Date.now() > deadline) throw new Error(`the API did not listen within 180 s\n${api.tail()}`);
        await sleep(200);
      }
    },
    async startWorker(name, extra = {}) {
      const worker = spawnService(name, WORKER_ENTRY, { WORKER_ID: name, ...extra });
      await worker.waitForLine((line) => line.includes('"worker ready"'), 120_000, '"worker ready"');
      return worker;
    },
    async createTenant(name, { operator = false } = {}) {
      const { tenant, apiKey } = await tenants.create({ name: `${name}-${label}-${Math.random().toString(36).slice(2, 8)}`, operator });
      if (!farm.apiUrl) throw new Error('start the API before creating tenants that talk to it');
      return { id: tenant.id, name: tenant.name, apiKey: apiKey.key, client: new ChorusClient({ baseUrl: farm.apiUrl, apiKey: apiKey.key }) };
    },
    async waitForStatuses(ids, statuses, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows = await prisma.generation.findMany({ where: { id: { in: ids } } }).catch(() => undefined);
        if (rows && rows.length === ids.length && rows.every((row) => statuses.includes(row.status))) {
          return rows.map(toGeneration);
        }
        if (Date.now() > deadline) {
          const counts: Record<string, number> = {};
          for (const row of rows ?? []) counts[row.status] = (counts[row.status] ?? 0) + 1;
          throw new Error(`not every generation is ${statuses.join('|')} after ${timeoutMs} ms: ${JSON.stringify(counts)}\n${farm.describe()}`);
        }
        await sleep(250);
      }
    },
    allLines: () => [...services.values()].flatMap((service) => service.lines),
    describe: () => [...services.values()].map((service) => service.tail(30)).join('\n'),
    async close() {
      await Promise.all([...services.values()].map((service) => service.stop(5_000)));
      await deletePrefix(connection).catch(() => undefined);
      await s3.close();
      await db?.drop();
    },
  };
  return farm;
}
