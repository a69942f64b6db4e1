/**
 * `chorus generate` as a user runs it: the compiled bin (built by `npm test`'s pretest, or
 * `npm run build:ts`), as a child process, with no services.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/chorus.js');
const MODEL_DIR = path.join(ROOT, 'models/chorus-tiny');
const MANIFEST = JSON.parse(readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8'));
const RATE: number = MANIFEST.sample_rate;
const WINDOW_SECONDS = (MANIFEST.window_frames * MANIFEST.downsampling_ratio) / RATE;
// The shared rule (libs/inference secondsTotalRange): one latent frame rounded up, the window rounded down, to 0.01 s.
const SECONDS_TOTAL = { min: Math.ceil((MANIFEST.downsampling_ratio / RATE) * 100) / 100, max: Math.floor(WINDOW_SECONDS * 100) / 100 };

const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function chorus(args: string[], cwd: string): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function probe(file: string) {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,sample_rate,channels,duration_ts', '-of', 'json', file]);
  return JSON.parse(out.toString()).streams[0] as { codec_name: string; sample_rate: string; channels: number; duration_ts: number };
}

/** Threads of a running process (Linux). */
function threadCount(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0);
}

let work: string;
beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist/apps/cli/src/main.js'))) throw new Error('build first: npm run build:ts (npm test does it)');
  work = mkdtempSync(path.join(tmpdir(), 'chorus-cli-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fresh, empty output folder per test, so "nothing was written" can be checked exactly. */
function outDir(name: string): string {
  const dir = path.join(work, name);
  execFileSync('mkdir', ['-p', dir]);
  return dir;
}

// Each run loads the model and decodes a full window; on a busy 2-core machine that can take a while.
describe('chorus generate', { timeout: 180_000 }, () => {
  it('writes the audio and prints one JSON object with the seed, parameters and per-stage timings', async () => {
    // Run from an unrelated folder: the default model is found in the project, not the working directory.
    const dir = outDir('json');
    const r = await chorus(['generate', '--prompt', 'a sine tone at 440 Hz', '--seconds-total', '3.5', '--steps', '5', '--json', '--out', 'a.wav'], dir);
    expect(r.stderr).toBe(''); // no progress bar when stderr is not a terminal
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ seconds_total: 3.5, sample_rate: RATE, channels: 2, steps: 5, sampler: MANIFEST.defaults.sampler });
    expect(Number.isInteger(report.seed) && report.seed >= 0 && report.seed < 2 ** 32).toBe(true);
    for (const stage of ['load', 'text_encoding', 'sampling', 'decoding', 'encoding', 'total']) {
      expect(report.timings_ms[stage]).toBeGreaterThan(0);
    }
    expect(report.timings_ms.total).toBeGreaterThanOrEqual(report.timings_ms.sampling + report.timings_ms.decoding);
    expect(probe(path.join(dir, 'a.wav'))).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: String(RATE), channels: 2, duration_ts: Math.round(3.5 * RATE) });
    expect(readdirSync(dir)).toEqual(['a.wav']);
  });

  it('gives the same file for the same seed, and another for another seed', async () => {
    const dir = outDir('seed');
    const args = (seed: number, out: string) => ['generate', '--prompt', 'a kick drum at 120 bpm', '--seconds-total', '2', '--steps', '4', '--seed', String(seed), '--out', out];
    await chorus(args(7, 'a.wav'), dir);
    await chorus(args(7, 'b.wav'), dir);
    await chorus(args(8, 'c.wav'), dir);
    const [a, b, c] = ['a.wav', 'b.wav', 'c.wav'].map((f) => readFileSync(path.join(dir, f)));
    expect(b.equals(a)).toBe(true);
    expect(c.equals(a)).toBe(false);
  });

  it.each([
    [['--format', 'flac'], 'out.bin', 'flac'],
    [[], 'out.flac', 'flac'],
    [['--format', 'mp3'], 'out.bin', 'mp3'],
    [['--wav-bit-depth', '24'], 'out.wav', 'pcm_s24le'],
    [['--wav-bit-depth', '32'], 'out.wav', 'pcm_f32le'],
  ])('with %j writes %s as %s', async (flags, file, codec) => {
    const dir = outDir(`format-${codec}-${file}`);
    const r = await chorus(['generate', '--prompt', 'pink noise', '--seconds-total', '1', '--steps', '2', ...flags, '--out', file], dir);
    expect(r.code).toBe(0);
    expect(probe(path.join(dir, file))).toMatchObject({ codec_name: codec, sample_rate: String(RATE), channels: 2 });
  });

  it('stops on Ctrl-C while loading or sampling, with one line and no file left behind', async () => {
    const dir = outDir('interrupt');
    const child = spawn(process.execPath, [BIN, 'generate', '--prompt', 'a long pad', '--steps', '500', '--out', 'a.wav'], { cwd: dir });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Interrupt once the model is loading or sampling, however slow start-up is on a busy machine: the
    // inference thread and ONNX Runtime's pools add threads only after the CLI has set its Ctrl-C handler.
    const deadline = Date.now() + 120_000;
    while (threadCount(child.pid!) < 12) {
      if (Date.now() > deadline) throw new Error('chorus generate did not start loading the model within 120 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(130); // the shell's code for "ended by Ctrl-C"
    expect(readdirSync(dir)).toEqual([]);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/interrupted; nothing was written/);
  });
});

describe('chorus generate refuses bad input with one line naming the flag or file, and writes nothing', { timeout: 120_000 }, () => {
  let corrupt: Record<string, string>;
  beforeAll(() => {
    const copyModel = (name: string) => {
      const dir = path.join(work, 'models', name);
      execFileSync('mkdir', ['-p', dir]);
      for (const f of readdirSync(MODEL_DIR)) if (f.endsWith('.onnx') || f === 'model.json') copyFileSync(path.join(MODEL_DIR, f), path.join(dir, f));
      return dir;
    };
    const badJson = copyModel('bad-json');
    writeFileSync(path.join(badJson, 'model.json'), '{ "name": "chorus-tiny", ');
    const badGraph = copyModel('bad-graph');
    writeFileSync(path.join(badGraph, 'unet.onnx'), 'not an onnx graph');
    const wrongName = copyModel('wrong-name');
    const manifest = JSON.parse(readFileSync(path.join(wrongName, 'model.json'), 'utf8'));
    manifest.diffusion.inputs.x = 'noisy_latent';
    writeFileSync(path.join(wrongName, 'model.json'), JSON.stringify(manifest));
    const noManifest = copyModel('no-manifest');
    rmSync(path.join(noManifest, 'model.json'));
    const missingGraph = copyModel('missing-graph');
    rmSync(path.join(missingGraph, 'vae_decoder.onnx'));
    corrupt = { badJson, badGraph, wrongName, noManifest, missingGraph };
  });

  const cases: Array<[string, (out: string) => string[], RegExp]> = [
    ['an empty prompt', (out) => ['--prompt', '  ', '--out', out], /--prompt must be a non-empty text of at most 2000 characters/],
    ['a prompt over the limit', (out) => ['--prompt', 'x'.repeat(2001), '--out', out], /--prompt must be at most 2000 characters, got 2001/],
    ['seconds_total above the window', (out) => ['--prompt', 'hi', '--seconds-total', '20', '--out', out], new RegExp(`--seconds-total must be a number of seconds from ${SECONDS_TOTAL.min} to ${SECONDS_TOTAL.max} \\(the model's window\\), got 20`)],
    ['seconds_total below one latent frame', (out) => ['--prompt', 'hi', '--seconds-total', '0.00001', '--out', out], new RegExp(`--seconds-total must be a number of seconds from ${SECONDS_TOTAL.min} to ${SECONDS_TOTAL.max} \\(the model's window\\), got 0.00001`)],
    ['seconds_total of 0', (out) => ['--prompt', 'hi', '--seconds-total', '0', '--out', out], /--seconds-total.*must be a number > 0/],
    ['seconds_start below 0', (out) => ['--prompt', 'hi', '--seconds-start', '-1', '--out', out], /--seconds-start.*'-1'.*must be a number >= 0/],
    ['steps below 1', (out) => ['--prompt', 'hi', '--steps', '0', '--out', out], /--steps.*must be an integer from 1 to 500/],
    ['steps that are not a number', (out) => ['--prompt', 'hi', '--steps', 'many', '--out', out], /--steps.*'many'.*must be an integer from 1 to 500/],
    ['an unknown sampler', (out) => ['--prompt', 'hi', '--sampler', 'ddim', '--out', out], /--sampler.*'ddim'.*euler, dpmpp-2m, dpmpp-3m-sde/],
    ['a sampler the model does not accept (pingpong on a v-objective model)', (out) => ['--prompt', 'hi', '--sampler', 'pingpong', '--out', out], /--sampler must be one of euler, dpmpp-2m, dpmpp-3m-sde \(the samplers of this model's objective, v\), got "pingpong"/],
    ['an unknown format', (out) => ['--prompt', 'hi', '--format', 'ogg', '--out', out], /--format.*'ogg'.*wav, flac, mp3/],
    ['a seed out of range', (out) => ['--prompt', 'hi', '--seed', '4294967296', '--out', out], /--seed.*must be an integer from 0 to 4294967295/],
    ['a missing model folder', (out) => ['--prompt', 'hi', '--model', '/nonexistent/model', '--out', out], /--model: model folder \/nonexistent\/model does not exist/],
    ['a model folder without model.json', (out) => ['--prompt', 'hi', '--model', corrupt.noManifest, '--out', out], /no-manifest\/model\.json: missing/],
    ['a model.json that is not JSON', (out) => ['--prompt', 'hi', '--model', corrupt.badJson, '--out', out], /bad-json\/model\.json: not valid JSON/],
    ['a model whose graph file is missing', (out) => ['--prompt', 'hi', '--model', corrupt.missingGraph, '--out', out], /missing-graph\/vae_decoder\.onnx: missing \(named by vae\.decoder\.file/],
    ['a corrupt graph', (out) => ['--prompt', 'hi', '--model', corrupt.badGraph, '--out', out], /bad-graph\/unet\.onnx: cannot load the ONNX graph/],
    ['a wrong input name in model.json', (out) => ['--prompt', 'hi', '--model', corrupt.wrongName, '--out', out], /unet\.onnx: model\.json diffusion\.inputs\.x is "noisy_latent", but the graph's inputs are \["x"/],
    ['an --out folder that does not exist', () => ['--prompt', 'hi', '--out', '/nonexistent/dir/a.wav'], /--out \/nonexistent\/dir\/a\.wav: folder \/nonexistent\/dir does not exist/],
    ['a --format that contradicts the --out extension', (out) => ['--prompt', 'hi', '--format', 'flac', '--out', out], /--format flac does not match --out \S+\/a\.wav \(a \.wav file\); name the file \.flac, or leave out --format to follow the extension/],
    ['an --out that is a folder', (out) => ['--prompt', 'hi', '--out', path.dirname(out)], /--out .* is a folder/],
    ['an --out that cannot be written', () => ['--prompt', 'hi', '--out', '/proc/chorus-test.wav'], /--out \/proc\/chorus-test\.wav: not writable/],
    ['a missing --out', () => ['--prompt', 'hi'], /required option '--out <file>'/],
  ];

  it.each(cases)('%s', async (name, args, message) => {
    const dir = outDir(`bad-${name.replace(/\W+/g, '-')}`);
    const r = await chorus(['generate', ...args(path.join(dir, 'a.wav'))], dir);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stdout).toBe('');
    expect(readdirSync(dir)).toEqual([]);
  });
});
