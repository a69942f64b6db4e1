/** `chorus batch` and `chorus tenants limits`, run as the installed command (bin/chorus.js → dist). */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const CHORUS = path.join(ROOT, 'bin', 'chorus.js');

const api = useApi('cli_batch');
let dir: string;

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist/apps/cli/src/main.js'))) throw new Error('the CLI is not built: run `npm run build` first (npm test does)');
  dir = await mkdtemp(path.join(os.tmpdir(), 'chorus-cli-batch-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function chorus(args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CHORUS, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('chorus tenants limits', () => {
  it('sets the limits and prints them as JSON', async () => {
    const result = await chorus(['tenants', 'limits', 'tenant-b', '--rpm', '90', '--audio-seconds-per-day', '7200', '--json'], { DATABASE_URL: api.db.url });

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: 'tenant-b', requests_per_minute: 90, audio_seconds_per_day: 7200, max_concurrent: null });
    expect(await api.db.prisma.tenant.findUnique({ where: { name: 'tenant-b' } })).toMatchObject({ requestsPerMinute: 90 });
  }, 180_000);

  it('names the bad option, and the unknown tenant', async () => {
    const bad = await chorus(['tenants', 'limits', 'tenant-b', '--rpm', 'lots'], { DATABASE_URL: api.db.url });
    const unknown = await chorus(['tenants', 'limits', 'nobody'], { DATABASE_URL: api.db.url });

    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--rpm must be a whole number from 1, or "none"/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no tenant named or with id "nobody"/);
  }, 300_000);
});

describe('chorus batch', () => {
  it('refuses a file with a bad row, naming the row, and submits nothing', async () => {
    const file = path.join(dir, 'bad.csv');
    await writeFile(file, 'prompt,seconds_total\nfine,1\ntoo long,9999\n');

    const result = await chorus(['batch', file, '--out', path.join(dir, 'bad-out'), '--json'], { CHORUS_API_URL: api.url, CHORUS_API_KEY: api.tenantA.apiKey });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/row 2: seconds_total must be a number of seconds from [\d.]+ to 11\.\d+ \(the model's window\)/);
    expect(await api.db.prisma.batch.count()).toBe(0);
  }, 180_000);

  it('follows a batch to its end and reports the rows that did not succeed', async () => {
    const file = path.join(dir, 'prompts.jsonl');
    const out = path.join(dir, 'out');
    await writeFile(file, '{"prompt":"first","seconds_total":1}\n{"prompt":"second","seconds_total":1}\n');

    // No worker runs here: the batch is canceled while the command waits for it.
    const running = chorus(['batch', file, '--out', out, '--json', '--poll-interval', '1'], { CHORUS_API_URL: api.url, CHORUS_API_KEY: api.tenantA.apiKey });
    const deadline = Date.now() + 60_000;
    while (!existsSync(path.join(out, '.chorus-batch.json'))) {
      if (Date.now() > deadline) throw new Error('the command never wrote its state');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { batchId } = JSON.parse(await readFile(path.join(out, '.chorus-batch.json'), 'utf8'));
    await fetch(`${api.url}/v1/batches/${batchId}/cancel`, { method: 'POST', headers: api.auth(api.tenantA) });
    const result = await running;

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      batch_id: batchId,
      status: 'canceled',
      total: 2,
      downloaded: 0,
      failed: [
        { row: 1, status: 'canceled' },
        { row: 2, status: 'canceled' },
      ],
    });
    const manifest = (await readFile(path.join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(manifest.map((line) => [line.row, line.status, line.file])).toEqual([
      [1, 'canceled', null],
      [2, 'canceled', null],
    ]);
  }, 300_000);
});
