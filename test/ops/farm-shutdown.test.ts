/**
 * `npm run farm` stopped with Ctrl-C: the farm (API, worker, s3rver in one terminal) closes
 * quietly and exits 0, with no error-level log line on the way out.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FarmProcess, freePort, ROOT } from '@chorus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestQueueConnection, deletePrefix } from '../support/redis';

const FARM_ENTRY = path.join(ROOT, 'dist/apps/farm/src/main.js');
const queues = createTestQueueConnection('farm-shutdown');
let db: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase('farm_shutdown');
  dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-farm-shutdown-'));
}, 120_000);

afterAll(async () => {
  await deletePrefix(queues);
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm run farm', () => {
  it('stops on Ctrl-C (SIGINT) with exit code 0 and no error-level log line', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: queues.redisUrl,
      BULLMQ_PREFIX: queues.prefix,
      PORT: String(await freePort()),
      FARM_S3_PORT: String(await freePort()),
      FARM_DATA_DIR: dataDir,
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    };
    delete env.S3_ENDPOINT;
    // Its own process group, as a terminal's Ctrl-C reaches the farm and the worker it started.
    const farm = new FarmProcess('farm', spawn(process.execPath, [FARM_ENTRY], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
    try {
      await farm.waitForLine((line) => line.includes('chorus farm: API on'), 90_000, 'the farm to start');
      // The worker is up once it logs that it takes jobs (its model loaded).
      await farm.waitForLine((line) => line.includes('"worker ready"'), 90_000, 'the worker to start');
      process.kill(-farm.child.pid!, 'SIGINT');
      const exitCode = await new Promise<number | null>((resolve) => farm.child.once('exit', (code) => resolve(code)));
      const errors = farm.logs.filter((line) => typeof line.level === 'number' && line.level >= 50);
      expect(errors, farm.tail()).toEqual([]);
      expect(farm.lines.join('\n')).not.toMatch(/Error happened during shutdown|Connection is closed/);
      expect(exitCode, farm.tail()).toBe(0);
    } finally {
      if (farm.running) process.kill(-farm.child.pid!, 'SIGKILL');
    }
  }, 180_000);
});
