/**
 * `chorus models import` as a user runs it: the compiled bin (npm test's pretest builds it), which spawns
 * /usr/bin/python3 models/importer/import_sat.py. The conversion itself is tested in models/importer/importer.test.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/chorus.js');
const FIXTURE = path.join(ROOT, 'models/importer/fixtures/saosmall-reduced');
const run = promisify(execFile);
const work = mkdtempSync(path.join(tmpdir(), 'chorus-models-import-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function chorus(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: work });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('chorus models import', () => {
  it("passes the importer's one-line refusal and exit status 2 through (a missing T5 folder)", async () => {
    const out = path.join(work, 'sao-small');
    const result = await chorus(['models', 'import', '--from', 'stable-audio-tools', '--config', path.join(FIXTURE, 'model_config.json'),
      '--checkpoint', path.join(FIXTURE, 'model.safetensors'), '--text-encoder', path.join(work, 't5-base'), '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`--text-encoder ${path.join(work, 't5-base')}: folder not found`);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a source format other than stable-audio-tools before starting Python', async () => {
    const result = await chorus(['models', 'import', '--from', 'diffusers', '--config', 'c.json', '--checkpoint', 'm.safetensors',
      '--text-encoder', 't5', '--out', 'out']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('stable-audio-tools');
  });
});
