// `npm run farm`: the whole farm in one terminal for development: an S3-compatible store
// (s3rver, on a local folder), the API, and one worker, against local Postgres and Redis.
// s3rver does not check signatures, so this is for development only; production points
// S3_ENDPOINT at AWS S3 or MinIO and runs `npm run start:api` / `npm run start:worker`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, parseEnv } from '@chorus/contracts';
import { migrate } from '@chorus/db';
import { z } from 'zod';
import { createApiApp } from './app';
import { loadApiConfig } from './config/api-config';

const farmSchema = z.object({
  /** Where s3rver keeps its objects. */
  FARM_DATA_DIR: z.string().min(1).default(path.join(os.tmpdir(), 'chorus-farm')),
  FARM_S3_PORT: z.coerce.number().int().min(1).max(65535).default(4569),
});

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

const WORKER_ENTRY = path.join(__dirname, '..', '..', 'worker', 'src', 'main.js');

async function main(): Promise<void> {
  const farm = parseEnv(farmSchema);
  const env: NodeJS.ProcessEnv = { ...process.env };
  let s3: S3rverInstance | undefined;

  if (!env.S3_ENDPOINT) {
    // A dev dependency, loaded only here so production builds never need it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const S3rver = require('s3rver') as S3rverClass;
    const bucket = env.S3_BUCKET || 'chorus';
    const directory = path.join(farm.FARM_DATA_DIR, 's3');
    mkdirSync(directory, { recursive: true });
    s3 = new S3rver({ address: '127.0.0.1', port: farm.FARM_S3_PORT, directory, silent: true, configureBuckets: [{ name: bucket }] });
    await s3.run();
    Object.assign(env, {
      S3_ENDPOINT: `http://127.0.0.1:${farm.FARM_S3_PORT}`,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    });
  }

  const config = loadApiConfig(env);
  await migrate(config.DATABASE_URL);
  const api = await createApiApp(config, { shutdownHooks: false });
  await api.listen(config.PORT, config.HOST);

  const worker: ChildProcess = spawn(process.execPath, [WORKER_ENTRY], { env, stdio: 'inherit' });
  process.stderr.write(
    `chorus farm: API on http://127.0.0.1:${config.PORT} (docs at /docs), one worker (pid ${worker.pid}), ` +
      `S3 at ${env.S3_ENDPOINT}.\nCreate a key with: npx chorus tenants create NAME\n`,
  );

  let stopping = false;
  const stop = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    if (worker.exitCode === null) worker.kill('SIGTERM');
    await api.close();
    await s3?.close();
    process.exit(exitCode);
  };
  worker.on('exit', (code) => {
    if (!stopping) process.stderr.write(`chorus farm: the worker exited (${code}); stopping\n`);
    void stop(code ?? 1);
  });
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`chorus farm: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
