/** `chorus batch` and `chorus tenants limits`, run as the installed command (bin/chorus.js → dist). */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
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

async function chorus(args: string[], env: NodeJS.ProcessEnv, timeout = 120_000) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CHORUS, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout });
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

const farm = () => ({ CHORUS_API_URL: api.url, CHORUS_API_KEY: api.tenantA.apiKey });

/** The batch id the command recorded in `out`, once it has; null if the command ended first. */
async function recordedBatch(out: string, running: Promise<unknown>): Promise<string | null> {
  let ended = false;
  void running.finally(() => (ended = true));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await readFile(path.join(out, '.chorus-batch.json'), 'utf8').catch(() => null);
    const batchId = state ? (JSON.parse(state) as { batchId?: string | null }).batchId : null;
    if (batchId) return batchId;
    if (ended) return null;
    if (Date.now() > deadline) throw new Error('the command never recorded a batch');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs `chorus batch FILE --out OUT …` until it has submitted, then cancels that batch (no worker
 * runs here) so that the command ends. `batchId` is null when the command ended without recording one.
 */
async function batchThenCancel(file: string, out: string, flags: string[] = []) {
  const running = chorus(['batch', file, '--out', out, '--json', '--poll-interval', '1', ...flags], farm());
  const batchId = await recordedBatch(out, running);
  if (batchId) await fetch(`${api.url}/v1/batches/${batchId}/cancel`, { method: 'POST', headers: api.auth(api.tenantA) });
  return { batchId, result: await running };
}

describe('chorus batch', () => {
  it('refuses a file with a bad row, naming the row, and submits nothing', async () => {
    const file = path.join(dir, 'bad.csv');
    await writeFile(file, 'prompt,seconds_total\nfine,1\ntoo long,9999\n');

    const result = await chorus(['batch', file, '--out', path.join(dir, 'bad-out'), '--json'], { CHORUS_API_URL: api.url, CHORUS_API_KEY: api.tenantA.apiKey });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/row 2: seconds_total must be a number of seconds from [\d.]+ to 11\.\d+ \(the model's window\)/);
    expect(await api.db.prisma.batch.count()).toBe(0);
    // Nothing to resume: the corrected file may use the same folder.
    expect(existsSync(path.join(dir, 'bad-out', '.chorus-batch.json'))).toBe(false);
  }, 180_000);

  it('follows a batch to its end and reports the rows that did not succeed', async () => {
    const file = path.join(dir, 'prompts.jsonl');
    const out = path.join(dir, 'out');
    await writeFile(file, '{"prompt":"first","seconds_total":1}\n{"prompt":"second","seconds_total":1}\n');

    // No worker runs here: the batch is canceled while the command waits for it.
    const running = chorus(['batch', file, '--out', out, '--json', '--poll-interval', '1'], farm());
    const batchId = await recordedBatch(out, running);
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

  it('renders the same file anew into another --out folder', async () => {
    const file = path.join(dir, 'again.jsonl');
    await writeFile(file, '{"prompt":"rendered twice","seconds_total":1}\n');

    const first = await batchThenCancel(file, path.join(dir, 'again-1'));
    const second = await batchThenCancel(file, path.join(dir, 'again-2'));

    expect(first.batchId).not.toBeNull();
    expect(second.batchId).not.toBeNull();
    expect(second.batchId).not.toBe(first.batchId);
    expect(await api.db.prisma.generation.count({ where: { prompt: 'rendered twice' } })).toBe(2);
  }, 300_000);

  it('submits the same file again with --priority, at that priority, with no complaint about an Idempotency-Key', async () => {
    const file = path.join(dir, 'urgent.jsonl');
    await writeFile(file, '{"prompt":"first plain, then urgent","seconds_total":1}\n');

    await batchThenCancel(file, path.join(dir, 'urgent-1'));
    const urgent = await batchThenCancel(file, path.join(dir, 'urgent-2'), ['--priority', '7']);

    expect(urgent.result.stderr).not.toMatch(/idempotency/i);
    expect(urgent.batchId).not.toBeNull();
    const rows = await api.db.prisma.generation.findMany({ where: { batchId: urgent.batchId! } });
    expect(rows.map((row) => row.priority)).toEqual([7]);
  }, 300_000);

  it('refuses, in a folder that holds a run, a --priority the run was not submitted with', async () => {
    const file = path.join(dir, 'reprioritised.jsonl');
    const out = path.join(dir, 'reprioritised');
    await writeFile(file, '{"prompt":"priority changed on resume","seconds_total":1}\n');
    const first = await batchThenCancel(file, out);

    const result = await chorus(['batch', file, '--out', out, '--priority', '7'], farm(), 30_000);

    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `chorus: ${out} holds batch ${first.batchId} from ${file} on ${api.url}, submitted without --priority; ` +
        'resume it with the same --priority or none, or use another --out folder to submit the file again',
    ]);
    expect(await api.db.prisma.generation.count({ where: { prompt: 'priority changed on resume' } })).toBe(1);
  }, 300_000);

  it('resumes the batch of a run interrupted after it submitted', async () => {
    const file = path.join(dir, 'interrupted.jsonl');
    const out = path.join(dir, 'interrupted');
    await writeFile(file, '{"prompt":"interrupted once","seconds_total":1}\n');

    const child = spawn(process.execPath, [CHORUS, 'batch', file, '--out', out, '--poll-interval', '1'], { cwd: ROOT, env: { ...process.env, ...farm() } });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const firstBatch = await recordedBatch(out, exited);
    child.kill('SIGINT');
    expect(await exited).toBe(130);

    const resumed = await batchThenCancel(file, out);
    expect(resumed.batchId).toBe(firstBatch);
    expect(JSON.parse(resumed.result.stdout)).toMatchObject({ batch_id: firstBatch, status: 'canceled' });
    expect(await api.db.prisma.generation.count({ where: { prompt: 'interrupted once' } })).toBe(1);
  }, 300_000);

  it('resumes the batch that a submission interrupted before its answer arrived had created', async () => {
    const file = path.join(dir, 'unanswered.jsonl');
    const out = path.join(dir, 'unanswered');
    await writeFile(file, '{"prompt":"submitted, answer lost","seconds_total":1}\n');
    // Between the command and the API: the first POST /v1/batches reaches the API, but its answer never comes back.
    let holdSubmit = true;
    const proxy = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== 'host' && name !== 'content-length')) as Record<string, string>;
        const upstream = await fetch(`${api.url}${request.url}`, { method: request.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
        const body = Buffer.from(await upstream.arrayBuffer());
        if (holdSubmit && request.method === 'POST' && request.url?.split('?')[0] === '/v1/batches') {
          holdSubmit = false;
          return;
        }
        response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' }).end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    try {
      const env = { CHORUS_API_URL: proxyUrl, CHORUS_API_KEY: api.tenantA.apiKey };
      const child = spawn(process.execPath, [CHORUS, 'batch', file, '--out', out, '--json', '--poll-interval', '1'], { cwd: ROOT, env: { ...process.env, ...env } });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const deadline = Date.now() + 60_000;
      while (holdSubmit || (await api.db.prisma.generation.count({ where: { prompt: 'submitted, answer lost' } })) === 0) {
        if (Date.now() > deadline) throw new Error('the submission never reached the API');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      child.kill('SIGINT');
      expect(await exited).toBe(130);

      const running = chorus(['batch', file, '--out', out, '--json', '--poll-interval', '1'], env);
      const batchId = await recordedBatch(out, running);
      if (batchId) await fetch(`${api.url}/v1/batches/${batchId}/cancel`, { method: 'POST', headers: api.auth(api.tenantA) });
      const result = await running;

      const created = await api.db.prisma.generation.findMany({ where: { prompt: 'submitted, answer lost' } });
      expect(created).toHaveLength(1);
      expect(batchId).toBe(created[0].batchId);
      expect(JSON.parse(result.stdout)).toMatchObject({ batch_id: created[0].batchId, status: 'canceled' });
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  }, 300_000);

  it.each(['0', '-1'])('refuses --concurrency %s, naming the option and what is allowed, and submits nothing', async (concurrency) => {
    const file = path.join(dir, `concurrency${concurrency}.jsonl`);
    await writeFile(file, `{"prompt":"downloaded ${concurrency} at a time","seconds_total":1}\n`);

    const result = await chorus(['batch', file, '--out', path.join(dir, `concurrency${concurrency}`), '--concurrency', concurrency], farm(), 30_000);

    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(new RegExp(`--concurrency <n>.*'${concurrency}'.*must be a whole number from 1`));
    expect(await api.db.prisma.generation.count({ where: { prompt: `downloaded ${concurrency} at a time` } })).toBe(0);
  }, 60_000);

  it('shows the default --poll-interval in seconds', async () => {
    const result = await chorus(['batch', '--help'], {});

    expect(result.code).toBe(0);
    const option = /--poll-interval <seconds>\s+([^]*?)\n\s+--/.exec(result.stdout)?.[1].replace(/\s+/g, ' ');
    expect(option).toMatch(/in seconds/);
    expect(option).toMatch(/\(default: 2\)$/);
  });

  it('asks for progress every 0.5 s with --poll-interval 0.5', async () => {
    const file = path.join(dir, 'often.jsonl');
    const out = path.join(dir, 'often');
    await writeFile(file, '{"prompt":"polled often","seconds_total":1}\n');

    // Without --json and a terminal, each poll prints one "0/1 finished, …" line: time them.
    const child = spawn(process.execPath, [CHORUS, 'batch', file, '--out', out, '--poll-interval', '0.5'], { cwd: ROOT, env: { ...process.env, ...farm() } });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const polls: number[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      for (const _ of chunk.toString().matchAll(/^0\/1 finished/gm)) polls.push(performance.now());
    });
    const batchId = await recordedBatch(out, exited);
    const deadline = Date.now() + 60_000;
    while (polls.length < 6 && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
    if (batchId) await fetch(`${api.url}/v1/batches/${batchId}/cancel`, { method: 'POST', headers: api.auth(api.tenantA) });
    await exited;

    expect(stderr).not.toMatch(/invalid/);
    expect(polls.length).toBeGreaterThanOrEqual(6);
    const gaps = polls.slice(1, 6).map((at, i) => at - polls[i]).sort((a, b) => a - b);
    // Each gap is the interval plus one request to the API; the median shows the interval.
    expect(gaps[2]).toBeGreaterThanOrEqual(450);
    expect(gaps[2]).toBeLessThan(1_500);
  }, 120_000);
});
