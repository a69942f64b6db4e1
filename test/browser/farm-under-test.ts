/**
 * The farm as the dashboard meets it: the API (serving the dashboard build) and one worker, as
 * processes from dist/, on a fresh database, a unique BullMQ prefix and an s3rver whose bucket
 * lets browsers read audio cross-origin, as a real bucket behind the dashboard must (CORS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { PutBucketCorsCommand, S3Client } from '@aws-sdk/client-s3';
import { ChorusClient } from '@chorus/client';
import { TenantRepository, WorkerRepository } from '@chorus/db';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestQueueConnection, deletePrefix } from '../support/redis';
import { startTestS3, type TestS3 } from '../support/s3';

const ROOT = path.resolve(__dirname, '..', '..');
const API_ENTRY = path.join(ROOT, 'dist/apps/api/src/main.js');
const WORKER_ENTRY = path.join(ROOT, 'dist/apps/worker/src/main.js');
const DASHBOARD_INDEX = path.join(ROOT, 'apps/dashboard/dist/index.html');

interface Service {
  name: string;
  child: ChildProcess;
  output: string[];
}

export interface FarmUnderTest {
  url: string;
  apiKey: string;
  client: ChorusClient;
  db: TestDatabase;
  workerId: string;
  /** The last lines each process wrote, for failure messages. */
  logs(): string;
  close(): Promise<void>;
}

export async function startFarm(label: string): Promise<FarmUnderTest> {
  for (const file of [API_ENTRY, WORKER_ENTRY, DASHBOARD_INDEX]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (npm test does)`);
  }
  const services: Service[] = [];
  const logs = () => services.map((s) => `--- ${s.name} (exit ${s.child.exitCode ?? 'running'}):\n${s.output.join('').slice(-4000)}`).join('\n');
  const queues = createTestQueueConnection(label);
  const db = await createTestDatabase(label);
  let s3: TestS3 | undefined;

  const close = async () => {
    await Promise.all(services.map(stop));
    await deletePrefix(queues);
    await s3?.close();
    await db.drop();
  };

  try {
    s3 = await startTestS3();
    await allowBrowserReads(s3);
    // The internal team operates the farm: its key sees the Farm view's queue and workers.
    const { apiKey } = await new TenantRepository(db.prisma).create({ name: `${label}-team`, operator: true });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const workerId = `${label}-worker-1`;
    const env: NodeJS.ProcessEnv = {
      ...s3.env,
      DATABASE_URL: db.url,
      REDIS_URL: queues.redisUrl,
      BULLMQ_PREFIX: queues.prefix,
      MODEL_DIR: path.join(ROOT, 'models/chorus-tiny'),
      ORT_EXECUTION_PROVIDER: 'cpu',
      LOG_LEVEL: 'warn',
    };
    // A key revoked mid-session must be refused by the very next request, not after the key cache's TTL.
    services.push(start('api', API_ENTRY, { ...env, PORT: String(port), HOST: '127.0.0.1', API_KEY_CACHE_TTL_MS: '0' }));
    services.push(start('worker', WORKER_ENTRY, { ...env, WORKER_ID: workerId }));

    const client = new ChorusClient({ baseUrl: url, apiKey: apiKey.key });
    const workers = new WorkerRepository(db.prisma);
    await until(services, 'the API', async () => (await client.listModels()).data, 60_000);
    await until(services, 'a worker heartbeat', async () => ((await workers.listAlive(30_000)).length > 0 ? true : undefined), 120_000);
    return { url, apiKey: apiKey.key, client, db, workerId, logs, close };
  } catch (error) {
    const output = logs();
    await close();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${output}`);
  }
}

/** The dashboard fetches audio from a presigned URL on another origin; the bucket must allow it. */
async function allowBrowserReads(s3: TestS3): Promise<void> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    await client.send(
      new PutBucketCorsCommand({
        Bucket: s3.bucket,
        CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'], AllowedHeaders: ['*'], MaxAgeSeconds: 3000 }] },
      }),
    );
  } finally {
    client.destroy();
  }
}

function start(name: string, entry: string, env: NodeJS.ProcessEnv): Service {
  const child = spawn(process.execPath, [entry], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const service: Service = { name, child, output: [] };
  const keep = (chunk: Buffer) => {
    service.output.push(chunk.toString('utf8'));
    if (service.output.length > 400) service.output.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return service;
}

async function stop(service: Service): Promise<void> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return;
  const exited = new Promise((resolve) => service.child.once('exit', resolve));
  service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function until<T>(services: Service[], what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exited = services.find((s) => s.child.exitCode !== null);
    if (exited) throw new Error(`${exited.name} exited while waiting for ${what}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
