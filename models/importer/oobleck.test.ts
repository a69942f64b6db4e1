/**
 * The Oobleck VAE graphs the importer writes (models/importer/chorus_import/oobleck.py), proven against upstream
 * stable-audio-tools: make_goldens_oobleck.py ran upstream's AutoencoderPretransform on a reduced random fixture and
 * stored its outputs; here our graphs, exported from the same fixture by /usr/bin/python3 and run by onnxruntime-node,
 * must reproduce them. At full size, our modules must carry exactly upstream's tensor names and shapes
 * (golden/oobleck-layout.json), so a real Stable Audio Open checkpoint loads strictly.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpyFloat32, type NpyArray } from '../../libs/inference/src/npy';

const run = promisify(execFile);
const IMPORTER = __dirname;
const GOLDEN = path.join(IMPORTER, 'golden');
const FIXTURE_CONFIG = path.join(IMPORTER, 'fixtures/oobleck-reduced.json');
const FIXTURE_CHECKPOINT = path.join(IMPORTER, 'fixtures/oobleck-reduced.safetensors');
const PYTHON = '/usr/bin/python3';
const TOOL = path.join(IMPORTER, 'export_oobleck.py');

/**
 * onnxruntime's float32 kernels against upstream PyTorch's, as max |diff| over the golden's largest magnitude, measured
 * here: encoder 6.6e-7, decoder 9.6e-7, round trip 1.1e-6. 1e-5 leaves ten times that for other CPUs' kernels.
 */
const RELATIVE_TOLERANCE = 1e-5;

const golden = JSON.parse(readFileSync(path.join(GOLDEN, 'oobleck.json'), 'utf8'));
const npy = (name: string) => readNpyFloat32(path.join(GOLDEN, name));

function maxAbs(values: Float32Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

function expectClose(actual: ort.Tensor, expected: NpyArray): void {
  expect(actual.dims).toEqual(expected.shape);
  const got = actual.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected.data[i]));
  expect(worst).toBeLessThanOrEqual(RELATIVE_TOLERANCE * maxAbs(expected.data));
}

function tensor(array: NpyArray): ort.Tensor {
  return new ort.Tensor('float32', array.data, array.shape);
}

async function python(args: string[]): Promise<string> {
  const { stdout } = await run(PYTHON, [TOOL, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function pythonError(args: string[]): Promise<string> {
  try {
    await python(args);
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? '').trim();
  }
  throw new Error('expected the export to be refused');
}

/**
 * Exports the fixture's encoder and decoder (`--frames N` or `dynamic`) into a scratch folder before the
 * suite's tests and opens them; releases and removes them after. Hooks registered in the calling describe.
 */
function exportedGraphs(frames: string): { encoder: ort.InferenceSession; decoder: ort.InferenceSession } {
  const graphs = {} as { encoder: ort.InferenceSession; decoder: ort.InferenceSession };
  let dir: string | undefined;
  beforeAll(async () => {
    mkdirSync(path.join(IMPORTER, '.build'), { recursive: true });
    dir = mkdtempSync(path.join(IMPORTER, '.build', 'oobleck-test-'));
    await python(['export', '--config', FIXTURE_CONFIG, '--checkpoint', FIXTURE_CHECKPOINT, '--part', 'both', '--frames', frames, '--out', dir]);
    graphs.encoder = await ort.InferenceSession.create(path.join(dir, 'vae_encoder.onnx'));
    graphs.decoder = await ort.InferenceSession.create(path.join(dir, 'vae_decoder.onnx'));
  }, 300_000);
  afterAll(async () => {
    await graphs.encoder?.release();
    await graphs.decoder?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return graphs;
}

describe('Oobleck VAE graphs against upstream stable-audio-tools (reduced fixture)', () => {
  const graphs = exportedGraphs(String(golden.frames));
  let encoder: ort.InferenceSession;
  let decoder: ort.InferenceSession;
  beforeAll(() => ({ encoder, decoder } = graphs));

  it('the encoder outputs upstream posterior mean divided by the pretransform scale', async () => {
    const { latent } = await encoder.run({ audio: tensor(npy(golden.encoder.input)) });
    expectClose(latent, npy(golden.encoder.output));
  });

  it('the decoder reproduces upstream decode of a latent (scale multiplied back)', async () => {
    const { audio } = await decoder.run({ latent: tensor(npy(golden.decoder.input)) });
    expectClose(audio, npy(golden.decoder.output));
  });

  it('encoder then decoder reproduce upstream round trip', async () => {
    const { latent } = await encoder.run({ audio: tensor(npy(golden.roundtrip.input)) });
    const { audio } = await decoder.run({ latent });
    expectClose(audio, npy(golden.roundtrip.output));
  });

  it('the batch is dynamic and the length fixed to the window: a batch of one gives the first item of the batch of two', async () => {
    const audioIn = npy(golden.encoder.input);
    const [, channels, samples] = audioIn.shape;
    expect(encoder.inputMetadata[0]).toMatchObject({ name: 'audio', shape: ['batch', channels, samples] });
    expect(decoder.inputMetadata[0]).toMatchObject({ name: 'latent', shape: ['batch', 64, golden.frames] });
    const first = { shape: [1, channels, samples], data: audioIn.data.subarray(0, channels * samples) };
    const { latent } = await encoder.run({ audio: tensor(first) });
    const expected = npy(golden.encoder.output);
    const perItem = expected.data.length / expected.shape[0];
    expectClose(latent, { shape: [1, ...expected.shape.slice(1)], data: expected.data.subarray(0, perItem) });
  });
});

describe('Oobleck VAE graphs with a dynamic length (--frames dynamic)', () => {
  const graphs = exportedGraphs('dynamic');
  let encoder: ort.InferenceSession;
  let decoder: ort.InferenceSession;
  beforeAll(() => ({ encoder, decoder } = graphs));

  it('graphs traced at 4 frames declare a free length and reproduce upstream at the goldens 8 frames', async () => {
    expect(encoder.inputMetadata[0]).toMatchObject({ name: 'audio', shape: ['batch', 2, 'samples'] });
    expect(decoder.inputMetadata[0]).toMatchObject({ name: 'latent', shape: ['batch', 64, 'frames'] });
    const { latent } = await encoder.run({ audio: tensor(npy(golden.encoder.input)) });
    expectClose(latent, npy(golden.encoder.output));
    const { audio } = await decoder.run({ latent: tensor(npy(golden.decoder.input)) });
    expectClose(audio, npy(golden.decoder.output));
  });
});

/** The fixture checkpoint with its tensors renamed (header rewritten, data untouched). */
function renamedCheckpoint(to: string, rename: (key: string) => string): void {
  const buf = readFileSync(FIXTURE_CHECKPOINT);
  const headerLength = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + headerLength));
  const renamed = Object.fromEntries(Object.entries(header).map(([k, v]) => [k === '__metadata__' ? k : rename(k), v]));
  const text = Buffer.from(JSON.stringify(renamed));
  const padded = Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, ' ')]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(padded.length));
  writeFileSync(to, Buffer.concat([length, padded, buf.subarray(8 + headerLength)]));
}

describe('Oobleck VAE checkpoints in torch >= 2.1 weight-norm form', () => {
  let dir: string;
  let decoder: ort.InferenceSession;
  beforeAll(async () => {
    mkdirSync(path.join(IMPORTER, '.build'), { recursive: true });
    dir = mkdtempSync(path.join(IMPORTER, '.build', 'oobleck-parametrized-'));
    const checkpoint = path.join(dir, 'parametrized.safetensors');
    renamedCheckpoint(checkpoint, (key) =>
      key.replace(/\.weight_g$/, '.parametrizations.weight.original0').replace(/\.weight_v$/, '.parametrizations.weight.original1'),
    );
    await python(['export', '--config', FIXTURE_CONFIG, '--checkpoint', checkpoint, '--part', 'decoder', '--frames', String(golden.frames), '--out', dir]);
    decoder = await ort.InferenceSession.create(path.join(dir, 'vae_decoder.onnx'));
  }, 300_000);
  afterAll(async () => {
    await decoder?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('parametrizations.weight.original0/original1 load as weight_g/weight_v and decode as upstream does', async () => {
    const { audio } = await decoder.run({ latent: tensor(npy(golden.decoder.input)) });
    expectClose(audio, npy(golden.decoder.output));
  });
});

describe('Oobleck VAE import refusals', () => {
  let dir: string;
  beforeAll(() => {
    mkdirSync(path.join(IMPORTER, '.build'), { recursive: true });
    dir = mkdtempSync(path.join(IMPORTER, '.build', 'oobleck-refusal-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function configWith(change: (pretransform: any) => void): string {
    const config = JSON.parse(readFileSync(FIXTURE_CONFIG, 'utf8'));
    change(config.model.pretransform);
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(config));
    return file;
  }

  it('a checkpoint whose tensors do not fit the config is refused in one line naming the tensor and both shapes', async () => {
    const config = configWith((p) => (p.config.decoder.config.channels = 16));
    const message = await pythonError(['export', '--config', config, '--checkpoint', FIXTURE_CHECKPOINT, '--part', 'decoder', '--frames', '8', '--out', dir]);
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/^checkpoint: pretransform\.model\.decoder\.layers\.\S+ has shape \[[\d, ]+\], the config needs \[[\d, ]+\]$/);
  }, 120_000);

  it('a checkpoint missing a decoder tensor is refused in one line naming it', async () => {
    const checkpoint = path.join(dir, 'missing.safetensors');
    renamedCheckpoint(checkpoint, (key) => (key === 'pretransform.model.decoder.layers.0.bias' ? 'unrelated.bias' : key));
    const message = await pythonError(['export', '--config', FIXTURE_CONFIG, '--checkpoint', checkpoint, '--part', 'decoder', '--frames', '8', '--out', dir]);
    expect(message).toBe(
      "checkpoint: pretransform.model.decoder.layers.0.bias is missing (1 decoder tensors missing); the config's decoder needs it",
    );
  }, 120_000);

  it('an unsupported VAE option is refused in one line naming the field and what is supported', async () => {
    const config = configWith((p) => (p.config.decoder.config.use_nearest_upsample = true));
    const message = await pythonError(['export', '--config', config, '--checkpoint', FIXTURE_CHECKPOINT, '--part', 'decoder', '--frames', '8', '--out', dir]);
    expect(message).toBe(
      'model.pretransform.config.decoder.config.use_nearest_upsample: true is not supported (Stable Audio Open upsamples with transposed convolutions); use false',
    );
  }, 120_000);
});

describe('Oobleck VAE layout at Stable Audio Open size', () => {
  it('our encoder and decoder have exactly upstream tensor names and shapes', async () => {
    const layout = JSON.parse(readFileSync(path.join(GOLDEN, 'oobleck-layout.json'), 'utf8'));
    const ours = JSON.parse(await python(['layout', '--pretransform-from', path.join(GOLDEN, 'oobleck-layout.json')]));
    expect(Object.keys(ours).sort()).toEqual(Object.keys(layout.tensors).sort());
    expect(ours).toEqual(layout.tensors);
  }, 300_000);
});
