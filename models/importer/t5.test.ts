/**
 * The T5 text encoder graph (models/importer/chorus_import/t5.py), exported from the tiny fixtures and run in
 * onnxruntime-node, reproduces what Hugging Face transformers' T5EncoderModel computes from the same weights
 * (golden/*.npy, written by make_goldens_t5.py as last_hidden_state × attention_mask, stable-audio-tools' conditioning).
 * At t5-base's size our module has exactly transformers' parameter names and shapes (golden/t5-base-layout.json).
 *
 * Tolerance: float32 graphs within 1e-4 absolute of the upstream features, which reach about 6 in magnitude (measured
 * 1.4e-6 to 1.6e-6: onnxruntime's kernels against torch's); fp16-stored weights within 1e-2 (measured 2.8e-3, the
 * rounding of the weights).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpyFloat32 } from '../../libs/inference/src/npy';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const IMPORTER = path.resolve(__dirname);
const FIXTURES = path.join(IMPORTER, 'fixtures');
const GOLDEN = path.join(IMPORTER, 'golden');
const OUT = path.join(IMPORTER, '.t5-out', 'test');

const FLOAT32_TOLERANCE = 1e-4;
const FP16_WEIGHTS_TOLERANCE = 1e-2;

interface Case {
  input_ids: number[][];
  attention_mask: number[][];
}
type CaseName = 'tokens16' | 'random160';

/** Each export: [fixture folder, output folder, max_length, precision]. */
const EXPORTS: Record<string, [string, string, number, 'fp32' | 'fp16']> = {
  relu16: ['t5-tiny', 'relu16', 16, 'fp32'],
  relu160: ['t5-tiny', 'relu160', 160, 'fp32'],
  relu16Half: ['t5-tiny', 'relu16-fp16', 16, 'fp16'],
  gated16: ['t5-tiny-gated', 'gated16', 16, 'fp32'],
};

let inputs: Record<CaseName, Case>;
let results: Record<string, { dim: number; tokenizer_file: string }>;

/** Runs the T5 module code in one Python process; prints one JSON value. */
async function python(script: string): Promise<unknown> {
  const { stdout } = await run(PYTHON, ['-c', `import sys, json\nsys.path.insert(0, ${JSON.stringify(IMPORTER)})\n${script}`], {
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? 'null');
}

async function exportT5(t5Dir: string, out: string, args: string[] = []) {
  return run(PYTHON, [path.join(IMPORTER, 'export_t5.py'), t5Dir, out, ...args]).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

function feeds(c: Case, rows?: number[]) {
  const pick = rows ?? c.input_ids.map((_, i) => i);
  const t = c.input_ids[0].length;
  const tensor = (m: number[][]) => new ort.Tensor('int64', BigInt64Array.from(pick.flatMap((r) => m[r]).map(BigInt)), [pick.length, t]);
  return { input_ids: tensor(c.input_ids), attention_mask: tensor(c.attention_mask) };
}

async function features(name: string, c: Case, rows?: number[]) {
  const session = await ort.InferenceSession.create(path.join(OUT, EXPORTS[name][1], 'text_encoder.onnx'));
  try {
    const output = (await session.run(feeds(c, rows))).features;
    return { dims: output.dims, data: output.data as Float32Array, session };
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

beforeAll(async () => {
  await rm(OUT, { recursive: true, force: true });
  inputs = JSON.parse(await readFile(path.join(GOLDEN, 't5-tiny-inputs.json'), 'utf8')) as Record<CaseName, Case>;
  const calls = Object.entries(EXPORTS).map(
    ([name, [fixture, dir, maxLength, precision]]) =>
      `${JSON.stringify(name)}: export_text_encoder(${JSON.stringify(path.join(FIXTURES, fixture))}, ${JSON.stringify(path.join(OUT, dir, 'text_encoder.onnx'))}, ${maxLength}, ${JSON.stringify(precision)})`,
  );
  results = (await python(`from chorus_import.t5 import export_text_encoder\nprint(json.dumps({${calls.join(', ')}}))`)) as typeof results;
}, 300_000);

describe('T5 text encoder export, against transformers T5EncoderModel', () => {
  it('reproduces upstream features for tokenizer ids at 16 tokens (t5-base feed-forward, ReLU)', async () => {
    const golden = readNpyFloat32(path.join(GOLDEN, 't5-tiny-tokens16.npy'));
    const { dims, data } = await features('relu16', inputs.tokens16);
    expect(dims).toEqual(golden.shape);
    expect(maxAbsDiff(data, golden.data)).toBeLessThan(FLOAT32_TOLERANCE);
  });

  it('reproduces upstream features at 160 tokens, past the relative-position max_distance of 128', async () => {
    const golden = readNpyFloat32(path.join(GOLDEN, 't5-tiny-random160.npy'));
    const { dims, data } = await features('relu160', inputs.random160);
    expect(dims).toEqual(golden.shape);
    expect(maxAbsDiff(data, golden.data)).toBeLessThan(FLOAT32_TOLERANCE);
  });

  it('reproduces upstream features for a gated-gelu (T5 v1.1) config read from pytorch_model.bin', async () => {
    const golden = readNpyFloat32(path.join(GOLDEN, 't5-tiny-gated-tokens16.npy'));
    const { data } = await features('gated16', inputs.tokens16);
    expect(maxAbsDiff(data, golden.data)).toBeLessThan(FLOAT32_TOLERANCE);
  });

  it('stays within the fp16 tolerance with fp16-stored weights, and the file is about half the size', async () => {
    const golden = readNpyFloat32(path.join(GOLDEN, 't5-tiny-tokens16.npy'));
    const { data } = await features('relu16Half', inputs.tokens16);
    expect(maxAbsDiff(data, golden.data)).toBeLessThan(FP16_WEIGHTS_TOLERANCE);
    const [full, half] = await Promise.all(['relu16', 'relu16Half'].map((n) => stat(path.join(OUT, EXPORTS[n][1], 'text_encoder.onnx'))));
    expect(half.size).toBeLessThan(full.size * 0.6);
  });

  it('zeroes the features of padding positions', async () => {
    const { data } = await features('relu16', inputs.tokens16);
    const mask = inputs.tokens16.attention_mask.flat();
    const dim = results.relu16.dim;
    mask.forEach((m, position) => {
      if (m === 0) expect(data.subarray(position * dim, (position + 1) * dim).every((v) => v === 0)).toBe(true);
    });
  });

  it('names its inputs and output as the contract says, with a dynamic batch and T fixed to max_length', async () => {
    const file = path.join(OUT, EXPORTS.relu16[1], 'text_encoder.onnx');
    const session = await ort.InferenceSession.create(file);
    expect([...session.inputNames]).toEqual(['input_ids', 'attention_mask']);
    expect([...session.outputNames]).toEqual(['features']);
    const one = (await session.run(feeds(inputs.tokens16, [3]))).features;
    const all = (await session.run(feeds(inputs.tokens16))).features;
    expect(one.dims).toEqual([1, 16, 64]);
    expect(maxAbsDiff(one.data as Float32Array, (all.data as Float32Array).subarray(3 * 16 * 64))).toBeLessThan(1e-5);
    const short: Case = { input_ids: [inputs.tokens16.input_ids[0].slice(0, 15)], attention_mask: [inputs.tokens16.attention_mask[0].slice(0, 15)] };
    await expect(session.run(feeds(short))).rejects.toThrow();
    await session.release();
  });

  it('returns the feature width and copies tokenizer.json beside the graph', async () => {
    expect(results.relu16).toEqual({ dim: 64, tokenizer_file: 'tokenizer.json' });
    const [copied, source] = await Promise.all([
      readFile(path.join(OUT, EXPORTS.relu16[1], 'tokenizer.json')),
      readFile(path.join(FIXTURES, 't5-tiny', 'tokenizer.json')),
    ]);
    expect(copied.equals(source)).toBe(true);
  });
});

describe('T5 folder refusals', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chorus-t5-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** A copy of the t5-tiny fixture, in its own folder `name`, without the file `leaveOut`. */
  async function fixtureWithout(leaveOut: string, name = `without-${leaveOut}`) {
    const folder = path.join(dir, name);
    await mkdir(folder, { recursive: true });
    for (const name of ['config.json', 'model.safetensors', 'tokenizer.json']) {
      if (name !== leaveOut) await cp(path.join(FIXTURES, 't5-tiny', name), path.join(folder, name));
    }
    return folder;
  }

  it.each([
    ['config.json', /missing config\.json; provide the config\.json of Hugging Face t5-base/],
    ['tokenizer.json', /missing tokenizer\.json; provide the tokenizer\.json of Hugging Face t5-base/],
    ['model.safetensors', /no T5 weights; provide model\.safetensors or pytorch_model\.bin/],
  ])('refuses a folder without %s in one line naming what to provide', async (leaveOut, message) => {
    const result = await exportT5(await fixtureWithout(leaveOut), path.join(dir, `out-${leaveOut}.onnx`));
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('refuses a missing folder in one line naming what to provide', async () => {
    const result = await exportT5(path.join(dir, 'nope'), path.join(dir, 'out-nope.onnx'));
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/no such T5 folder; provide a Hugging Face t5-base folder/);
  });

  it('refuses weights that do not fit config.json, naming the tensor', async () => {
    const folder = await fixtureWithout('none', 'three-layers');
    const config = JSON.parse(await readFile(path.join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(folder, 'config.json'), JSON.stringify({ ...config, num_layers: 3 }));
    const result = await exportT5(folder, path.join(dir, 'out-three-layers.onnx'));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/missing tensor encoder\.block\.2\.layer\.0\.SelfAttention\.q\.weight/);
  });

  it('refuses an unsupported feed-forward, naming the supported ones', async () => {
    const folder = await fixtureWithout('none', 'gated-silu');
    const config = JSON.parse(await readFile(path.join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(folder, 'config.json'), JSON.stringify({ ...config, feed_forward_proj: 'gated-silu' }));
    const result = await exportT5(folder, path.join(dir, 'out-gated-silu.onnx'));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/feed_forward_proj 'gated-silu' is not supported; supported: relu, gated-gelu/);
  });
});

describe('T5 full-size layout', () => {
  it("has exactly transformers T5EncoderModel's parameter names and shapes at t5-base's size", async () => {
    const layout = JSON.parse(await readFile(path.join(GOLDEN, 't5-base-layout.json'), 'utf8')) as {
      config: Record<string, unknown>;
      tensors: Array<[string, number[]]>;
    };
    const ours = await python(
      `from chorus_import.t5 import T5Config, T5Encoder\nconfig = ${JSON.stringify(JSON.stringify(layout.config))}\n` +
        `model = T5Encoder(T5Config(json.loads(config), 't5-base'))\n` +
        `print(json.dumps([[k, list(v.shape)] for k, v in model.state_dict().items()]))`,
    );
    expect(ours).toEqual(layout.tensors);
  }, 120_000);
});
