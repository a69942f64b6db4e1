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
// The launcher composes the two apps; neither app imports it.
import { createApiApp } from '../../api/src/app';
import { loadApiConfig } from '../../api/src/config/api-config';

const farmSchema = z.object({
  /** Where s3rver keeps its objects. */
  FARM_DATA_DIR: z.string().min(1).default(path.join(os.tmpdir(), 'chorus-farm')),
  FARM_S3_PORT: z.coerce.number().int().min(1).max(65535).default(4569),
  /** More origins the dashboard is opened from (comma-separated), beyond the API's own and Vite's dev server. */
  FARM_S3_CORS_ORIGINS: z.string().default(''),
});

/** Vite's development server (`npx vite --config apps/dashboard/vite.config.mts`). */
const VITE_DEV_PORT = 5173;

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

  // Without S3_ENDPOINT the farm brings its own store: s3rver on a local folder.
  const ownStore = !env.S3_ENDPOINT;
  if (ownStore) {
    Object.assign(env, {
      S3_ENDPOINT: `http://127.0.0.1:${farm.FARM_S3_PORT}`,
      S3_BUCKET: env.S3_BUCKET || 'chorus',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    });
  }
  const config = loadApiConfig(env);

  if (ownStore) {
    // A dev dependency, loaded only here so production builds never need it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const S3rver = require('s3rver') as S3rverClass;
    const directory = path.join(farm.FARM_DATA_DIR, 's3');
    mkdirSync(directory, { recursive: true });
    // The dashboard reads audio straight from the bucket (waveform, spectrogram): a cross-origin
    // fetch, so the bucket lets the dashboard's origins GET, and no other page.
    const cors = corsConfiguration(dashboardOrigins(config, farm.FARM_S3_CORS_ORIGINS));
    s3 = new S3rver({ address: '127.0.0.1', port: farm.FARM_S3_PORT, directory, silent: true, configureBuckets: [{ name: env.S3_BUCKET, configs: [cors] }] });
    await s3.run();
  }
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

/** The origins a browser shows the dashboard under: the API's own address, and Vite's dev server. */
function dashboardOrigins(config: { HOST: string; PORT: number }, extra: string): string[] {
  const hosts = new Set(['127.0.0.1', 'localhost']);
  if (!['0.0.0.0', '::', ''].includes(config.HOST)) hosts.add(config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST);
  const origins = [...hosts].flatMap((host) => [`http://${host}:${config.PORT}`, `http://${host}:${VITE_DEV_PORT}`]);
  const more = extra.split(',').map((origin) => origin.trim()).filter(Boolean);
  return [...new Set([...origins, ...more])];
}

/** An S3 CORS document letting those origins GET and HEAD objects. */
function corsConfiguration(origins: string[]): string {
  const allowed = origins.map((origin) => `<AllowedOrigin>${origin.replace(/[<>&]/g, '')}</AllowedOrigin>`).join('');
  return (
    `<CORSConfiguration><CORSRule>${allowed}<AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>` +
    `<AllowedHeader>*</AllowedHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`chorus farm: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
