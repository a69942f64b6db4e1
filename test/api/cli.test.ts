/** `chorus tenants create` and `chorus submit`, run as the installed command (bin/chorus.js → dist). */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TenantRepository } from '@chorus/db';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const CHORUS = path.join(ROOT, 'bin', 'chorus.js');

const api = useApi('cli');

beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist/apps/cli/src/main.js'))) throw new Error('the CLI is not built: run `npm run build` first (npm test does)');
});

/** Runs `chorus …`; resolves with its exit code and output instead of throwing on failure. */
async function chorus(args: string[], env: NodeJS.ProcessEnv, timeout = 60_000) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CHORUS, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('chorus tenants create', () => {
  it('prints a tenant id and a working API key as JSON', async () => {
    const result = await chorus(['tenants', 'create', 'cli studio', '--json'], { DATABASE_URL: api.db.url });
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout) as { tenant_id: string; api_key: string };
    expect(Object.keys(created).sort()).toEqual(['api_key', 'tenant_id']);
    const tenant = await new TenantRepository(api.db.prisma).findByApiKey(created.api_key);
    expect(tenant).toMatchObject({ id: created.tenant_id, name: 'cli studio' });
    // Only the hash is stored.
    const stored = await api.db.prisma.apiKey.findMany({ where: { tenantId: created.tenant_id } });
    expect(JSON.stringify(stored)).not.toContain(created.api_key);
  });

  it('prints the key for a person without --json', async () => {
    const result = await chorus(['tenants', 'create', 'cli-plain'], { DATABASE_URL: api.db.url });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^created tenant "cli-plain" \([0-9a-f-]{36}\)\n/);
    expect(result.stdout).toMatch(/\nchorus_[\w-]{43}\n$/);
  });

  it('makes an operator with --operator, whose key reads the farm-wide stats', async () => {
    const result = await chorus(['tenants', 'create', 'cli-operators', '--operator', '--json'], { DATABASE_URL: api.db.url });
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout) as { tenant_id: string; api_key: string };
    expect(await api.db.prisma.tenant.findUnique({ where: { id: created.tenant_id } })).toMatchObject({ operator: true });
    const stats = await fetch(`${api.url}/v1/stats`, { headers: { authorization: `Bearer ${created.api_key}` } });
    expect((await stats.json()).scope).toBe('farm');
    expect(await api.db.prisma.tenant.findUnique({ where: { name: 'tenant-a' } })).toMatchObject({ operator: false });
  });

  it('refuses a name that is taken, with exit code 1', async () => {
    const result = await chorus(['tenants', 'create', 'tenant-a'], { DATABASE_URL: api.db.url });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('a tenant named "tenant-a" already exists');
  });
});

describe('chorus submit', () => {
  const env = () => ({ CHORUS_API_URL: api.url, CHORUS_API_KEY: api.tenantA.apiKey });

  it('queues a generation and prints it as JSON', async () => {
    const result = await chorus(['submit', '--prompt', 'a tape-saturated rhodes', '--seconds-total', '2', '--seed', '99', '--steps', '6', '--json'], env());
    expect(result.code).toBe(0);
    const generation = JSON.parse(result.stdout);
    expect(generation).toMatchObject({ status: 'queued', seed: 99, steps: 6, seconds_total: 2, prompt: 'a tape-saturated rhodes' });
    expect((await api.tenantA.client.getGeneration(generation.id)).seed).toBe(99);
  });

  it('names each bad field the API refused, with exit code 1', async () => {
    const result = await chorus(['submit', '--prompt', ' ', '--seconds-total', '500'], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('(HTTP 400)');
    expect(result.stderr).toMatch(/prompt: must not be empty/);
    expect(result.stderr).toMatch(/seconds_total: must be a number of seconds from [\d.]+ to [\d.]+ \(the model's window\)/);
  });

  it('says which variable is missing when there is no API key', async () => {
    const result = await chorus(['submit', '--prompt', 'x'], { CHORUS_API_URL: api.url, CHORUS_API_KEY: '' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('CHORUS_API_KEY');
  });

  it('waits for the end and writes nothing when the generation is canceled meanwhile', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chorus-cli-'));
    const out = path.join(dir, 'never.wav');
    try {
      const submitted = chorus(['submit', '--prompt', 'canceled while waiting', '--seconds-total', '1', '--out', out], env());
      // No worker runs in this file, so the generation stays queued until canceled.
      let id: string | undefined;
      for (let i = 0; i < 100 && !id; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        id = (await api.tenantA.client.listGenerations({ q: 'canceled while waiting' })).data[0]?.id;
      }
      expect(id).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await api.tenantA.client.cancelGeneration(id!);
      const result = await submitted;
      expect(result.code).toBe(1);
      expect(result.stdout).toBe(`${id} canceled\n`);
      await expect(readFile(out)).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('checks the --out folder before queueing anything, as generate does', async () => {
    const result = await chorus(['submit', '--prompt', 'never queued: no folder', '--seconds-total', '1', '--out', '/nonexistent/dir/a.wav'], env(), 30_000);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual(['chorus: --out /nonexistent/dir/a.wav: folder /nonexistent/dir does not exist']);
    expect(result.stdout).toBe('');
    expect(await api.db.prisma.generation.count({ where: { prompt: 'never queued: no folder' } })).toBe(0);
  });

  it('refuses a --format that contradicts the --out extension, as generate does, and queues nothing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chorus-cli-'));
    const out = path.join(dir, 'x.mp3');
    try {
      const result = await chorus(['submit', '--prompt', 'never queued: flac into mp3', '--seconds-total', '1', '--format', 'flac', '--out', out], env(), 30_000);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([
        `chorus: --format flac does not match --out ${out} (a .mp3 file); name the file .flac, or leave out --format to follow the extension`,
      ]);
      expect(await api.db.prisma.generation.count({ where: { prompt: 'never queued: flac into mp3' } })).toBe(0);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('without --format, asks for the format of the --out extension, as generate does', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chorus-cli-'));
    try {
      const submitted = chorus(['submit', '--prompt', 'flac by its name', '--seconds-total', '1', '--out', path.join(dir, 'x.flac')], env());
      // No worker runs in this file: read what was queued, then cancel it so the command ends.
      let queued: { id: string; output_format: string } | undefined;
      for (let i = 0; i < 100 && !queued; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        queued = (await api.tenantA.client.listGenerations({ q: 'flac by its name' })).data[0];
      }
      expect(queued).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await api.tenantA.client.cancelGeneration(queued!.id);
      await submitted;
      expect(queued!.output_format).toBe('flac');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
