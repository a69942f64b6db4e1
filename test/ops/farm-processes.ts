/**
 * The farm as an operator runs it, for the ops tests: API and worker processes from the build in
 * dist/, each with its own environment, on a fresh database, a unique BullMQ prefix and an s3rver.
 *
 *   const farm = await startFarmServices('ops-metrics');
 *   const api = await farm.startApi();              // api.url
 *   const worker = await farm.startWorker('w1');    // worker.probeUrl (its /metrics port)
 *   … worker.signal('SIGTERM'); await worker.exited; … await farm.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ChorusClient } from '@chorus/client';
import { TenantRepository } from '@chorus/db';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestQueueConnection, deletePrefix } from '../support/redis';
import { startTestS3, type TestS3 } from '../support/s3';
import { freePort } from './dedicated-redis';

export const ROOT = path.resolve(__dirname, '..', '..');
export const API_ENTRY = path.join(ROOT, 'dist/apps/api/src/main.js');
export const WORKER_ENTRY = path.join(ROOT, 'dist/apps/worker/src/main.js');
export const MODEL_DIR = path.join(ROOT, 'models/chorus-tiny');

export interface RunningProcess {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<number | null>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Its JSON log lines so far, parsed (other lines skipped). */
  logs(): Record<string, unknown>[];
  signal(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export interface ApiProcess extends RunningProcess {
  url: string;
}

export interface WorkerProcess extends RunningProcess {
  workerId: string;
  /** http://127.0.0.1:<WORKER_METRICS_PORT> */
  probeUrl: string;
}

export interface FarmServices {
  db: TestDatabase;
  s3: TestS3;
  /** Environment shared by API and workers: database, Redis prefix, S3, model. */
  env: NodeJS.ProcessEnv;
  apiKey: string;
  tenantId: string;
  client(api: ApiProcess): ChorusClient;
  startApi(env?: NodeJS.ProcessEnv): Promise<ApiProcess>;
  /** Starts a worker and waits until its readiness probe says 200 (model loaded, taking jobs). */
  startWorker(name: string, env?: NodeJS.ProcessEnv): Promise<WorkerProcess>;
  close(): Promise<void>;
}

/** Starts `node <entry>` with the given environment on top of this process's. */
export function startProcess(name: string, entry: string, env: NodeJS.ProcessEnv): RunningProcess {
  const child = spawn(process.execPath, [entry], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const output = () => chunks.join('');
  return {
    name,
    child,
    exited,
    output,
    logs: () =>
      output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    signal: (signal) => child.kill(signal),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function startFarmServices(label: string): Promise<FarmServices> {
  for (const entry of [API_ENTRY, WORKER_ENTRY]) {
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first (npm test does)`);
  }
  const queues = createTestQueueConnection(label);
  const db = await createTestDatabase(label);
  const s3 = await startTestS3();
  const { tenant, apiKey } = await new TenantRepository(db.prisma).create({ name: `${label}-team` });
  const processes: RunningProcess[] = [];
  const env: NodeJS.ProcessEnv = {
    ...s3.env,
    DATABASE_URL: db.url,
    REDIS_URL: queues.redisUrl,
    BULLMQ_PREFIX: queues.prefix,
    MODEL_DIR,
    ORT_EXECUTION_PROVIDER: 'cpu',
    LOG_LEVEL: 'info',
  };

  return {
    db,
    s3,
    env,
    apiKey: apiKey.key,
    tenantId: tenant.id,
    client: (api) => new ChorusClient({ baseUrl: api.url, apiKey: apiKey.key }),
    async startApi(extra = {}) {
      const port = await freePort();
      const api = { ...startProcess('api', API_ENTRY, { ...env, PORT: String(port), HOST: '127.0.0.1', ...extra }), url: `http://127.0.0.1:${port}` };
      processes.push(api);
      await waitFor(api, 'the API to answer /health/live', async () => (await fetch(`${api.url}/health/live`)).ok, 60_000);
      return api;
    },
    async startWorker(name, extra = {}) {
      const port = await freePort();
      const workerId = `${label}-${name}`;
      const worker = {
        ...startProcess(name, WORKER_ENTRY, { ...env, WORKER_ID: workerId, WORKER_METRICS_PORT: String(port), WORKER_METRICS_HOST: '127.0.0.1', ...extra }),
        workerId,
        probeUrl: `http://127.0.0.1:${port}`,
      };
      processes.push(worker);
      await waitFor(worker, `${name} to be ready`, async () => (await fetch(`${worker.probeUrl}/health/ready`)).ok, 120_000);
      return worker;
    },
    async close() {
      await Promise.all(processes.map((p) => p.stop()));
      await deletePrefix(queues);
      await s3.close();
      await db.drop();
    },
  };
}

/** Polls `check` (errors count as false) until true; fails early, with its output, if the process exits. */
export async function waitFor(process: RunningProcess, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process.child.exitCode !== null || process.child.signalCode !== null) {
      throw new Error(`${process.name} exited (${process.child.exitCode ?? process.child.signalCode}) while waiting for ${what}\n${process.output().slice(-4000)}`);
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${process.output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A sample's value in a Prometheus text exposition, or undefined when the series is absent. */
export function sampleValue(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
