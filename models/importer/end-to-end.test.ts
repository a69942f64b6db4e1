import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRunner, type GenerationRequest } from '@chorus/inference';

// The whole import as a user runs it: `chorus models import` (the compiled bin, as `npx chorus` runs it) turns each
// reduced fixture (SAO 1.0-shaped, SAO Small-shaped, random weights of the published layout) and the tiny T5 fixture
// into a model folder; `chorus generate --model THAT_FOLDER` (the compiled bin again) writes a clip with the model's
// default sampler; the farm's ModelRunner (what the worker starts with MODEL_DIR) loads the same folder. The
// per-graph parity with upstream is importer.test.ts's, t5.test.ts's and oobleck.test.ts's; this is the wiring.
const root = path.resolve(__dirname, '../..');
const importer = path.join(root, 'models/importer');
const bin = path.join(root, 'bin/chorus.js');
const work = path.join(importer, '.e2e'); // git-ignored
const t5 = path.join(importer, 'fixtures', 't5-tiny');
const run = promisify(execFile);

const FIXTURES = [
  // fixture, the default sampler the model must run with, a seconds_total inside its window
  { fixture: 'sao10-reduced', sampler: 'dpmpp-3m-sde', secondsTotal: 1.2 }, // window 65536 samples = 1.49 s
  { fixture: 'saosmall-reduced', sampler: 'pingpong', secondsTotal: 0.5 }, // window 32768 samples = 0.74 s
] as const;

const GRAPHS = ['model.json', 'tokenizer.json', 'text_encoder.onnx', 'conditioners.onnx', 'dit.onnx', 'vae_decoder.onnx', 'vae_encoder.onnx'];

async function chorus(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: work, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The format chunk and frame count of a PCM/float WAV file. */
function readWav(buf: Buffer) {
  expect(buf.subarray(0, 4).toString('latin1')).toBe('RIFF');
  expect(buf.subarray(8, 12).toString('latin1')).toBe('WAVE');
  let offset = 12;
  let format: { channels: number; sampleRate: number; blockAlign: number } | undefined;
  while (offset + 8 <= buf.length) {
    const id = buf.subarray(offset, offset + 4).toString('latin1');
    const size = buf.readUInt32LE(offset + 4);
    if (id === 'fmt ') format = { channels: buf.readUInt16LE(offset + 10), sampleRate: buf.readUInt32LE(offset + 12), blockAlign: buf.readUInt16LE(offset + 20) };
    if (id === 'data') {
      if (!format) throw new Error('WAV data chunk before its fmt chunk');
      return { ...format, frames: size / format.blockAlign };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error('WAV file without a data chunk');
}

beforeAll(async () => {
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  if (!existsSync(bin.replace('bin/chorus.js', 'dist'))) throw new Error('build the CLI first: npm run build');
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.each(FIXTURES)('the $fixture fixture and the tiny T5, imported by `chorus models import`', ({ fixture, sampler, secondsTotal }) => {
  const out = path.join(work, fixture);
  let imported: Awaited<ReturnType<typeof chorus>>;

  beforeAll(async () => {
    imported = await chorus(['models', 'import', '--from', 'stable-audio-tools',
      '--config', path.join(importer, 'fixtures', fixture, 'model_config.json'),
      '--checkpoint', path.join(importer, 'fixtures', fixture, 'model.safetensors'),
      '--text-encoder', t5, '--out', out]);
  }, 600_000);

  it('writes the whole model folder: model.json, tokenizer.json and the T5, conditioner, DiT and VAE graphs', async () => {
    expect(imported.code, imported.stderr).toBe(0);
    for (const file of GRAPHS) expect(existsSync(path.join(out, file)), `${file} missing`).toBe(true);
    const manifest = JSON.parse(await readFile(path.join(out, 'model.json'), 'utf8')) as { defaults: { sampler: string }; sample_rate: number };
    expect(manifest.defaults.sampler).toBe(sampler);
    expect(manifest.sample_rate).toBe(44_100);
  });

  it(`\`chorus generate --model\` on it writes ${secondsTotal} s of 44.1 kHz stereo with the model's default sampler (${sampler})`, async () => {
    expect(imported.code, imported.stderr).toBe(0);
    const wav = path.join(work, `${fixture}.wav`);
    const result = await chorus(['generate', '--prompt', 'a warm pad', '--model', out, '--seconds-total', String(secondsTotal), '--seed', '7', '--json', '--out', wav]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { sampler: string; sample_rate: number; channels: number; seconds_total: number };
    expect(report).toMatchObject({ sampler, sample_rate: 44_100, channels: 2, seconds_total: secondsTotal });
    const file = readWav(await readFile(wav));
    expect(file).toMatchObject({ channels: 2, sampleRate: 44_100, frames: Math.round(secondsTotal * 44_100) });
  }, 600_000);
});

describe('the farm path', () => {
  it("the worker's ModelRunner (MODEL_DIR = the imported SAO Small-shaped folder) loads it and generates with its defaults", async () => {
    const { fixture, sampler, secondsTotal } = FIXTURES[1];
    const modelDir = path.join(work, fixture);
    expect(existsSync(path.join(modelDir, 'model.json')), 'the import above must have run').toBe(true);
    const runner = await ModelRunner.start({ modelDir, executionProvider: 'cpu' });
    try {
      const d = runner.manifest.defaults;
      expect(d.sampler).toBe(sampler);
      const request: GenerationRequest = { prompt: 'rain on a tin roof', secondsStart: 0, secondsTotal, steps: d.steps, cfgScale: d.cfg_scale,
        sampler: d.sampler as GenerationRequest['sampler'], seed: 3 };
      const audio = await runner.generate(request);
      expect(audio.sampleRate).toBe(44_100);
      expect(audio.channels).toHaveLength(2);
      expect(audio.frames).toBe(Math.round(secondsTotal * 44_100));
      expect(audio.channels.some((c) => c.some((x) => x !== 0)), 'the clip is not silence').toBe(true);
    } finally {
      await runner.close();
    }
  }, 600_000);
});
