/**
 * The shipped model's golden vectors (models/chorus-tiny/golden, written by the PyTorch reference in
 * models/training/chorus/sampling.py): the ONNX graphs driven by this library must land on the same
 * latents within 1e-4, which proves the tokenizer, Philox streams, conditioning layout, guidance,
 * schedules and samplers all match the reference.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SamplerName } from '@chorus/contracts';
import type { GenerationRequest } from './generation';
import * as ort from 'onnxruntime-node';
import { buildBatchConditioning } from './conditioning';
import { readNpyFloat32 } from './npy';
import { philox4x32, normals } from './philox';
import { GenerationPipeline } from './pipeline';
import type { ScheduleName } from './schedules';
import { sigmasFor } from './schedules';
import { ByteTokenizer } from './tokenizers';

const MODEL_DIR = path.resolve(__dirname, '../../../models/chorus-tiny');
const GOLDEN_DIR = path.join(MODEL_DIR, 'golden');

interface GoldenCase {
  name: string;
  prompt: string;
  negative_prompt: string;
  seconds_start: number;
  seconds_total: number;
  seed: number;
  sampler: SamplerName;
  steps: number;
  cfg_scale: number;
  schedule: ScheduleName;
  sigma_min: number;
  sigma_max: number;
  rho: number;
  sigmas: number[];
  latent_file: string;
}

const golden = JSON.parse(readFileSync(path.join(GOLDEN_DIR, 'golden.json'), 'utf8'));
const cases: GoldenCase[] = golden.cases;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function requestOf(c: GoldenCase, prompt = c.prompt, seed = c.seed, secondsTotal = c.seconds_total, secondsStart = c.seconds_start): GenerationRequest {
  return {
    prompt,
    ...(c.negative_prompt && { negativePrompt: c.negative_prompt }),
    secondsStart,
    secondsTotal,
    steps: c.steps,
    cfgScale: c.cfg_scale,
    sampler: c.sampler,
    seed,
  };
}

describe('golden vectors of the Python reference', () => {
  it('Philox matches the known answer and the reference noise for every seed and stream', () => {
    const kat = golden.philox_kat;
    expect(Array.from(philox4x32(kat.counter, kat.key), (w) => w.toString(16).padStart(8, '0'))).toEqual(kat.words);
    for (const n of golden.noise) {
      const ours = normals(n.seed, n.stream, n.first.length);
      expect(maxAbsDiff(ours, n.first)).toBeLessThan(1e-6);
      expect(Array.from(philox4x32([0, 0, n.stream, 0], [n.seed, 0x43484f52]))).toEqual(n.words_block0);
    }
  });

  it('the byte tokenizer gives the reference ids, mask and numbers', () => {
    const tokenizer = new ByteTokenizer(80, true);
    for (const t of golden.tokenizer) {
      const ours = tokenizer.encode(t.prompt);
      expect(Array.from(ours.ids, Number)).toEqual(t.input_ids);
      expect(Array.from(ours.mask, Number)).toEqual(t.attention_mask);
      expect(maxAbsDiff(ours.numbers!, Float32Array.from(t.numbers))).toBe(0);
    }
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: the schedule matches the reference sigmas', (_, c) => {
    const ours = sigmasFor({ schedule: c.schedule, steps: c.steps, sigmaMin: c.sigma_min, sigmaMax: c.sigma_max, rho: c.rho });
    expect(maxAbsDiff(ours, c.sigmas)).toBeLessThan(1e-9);
  });

  describe('through the ONNX graphs', () => {
    let pipeline: GenerationPipeline;
    beforeAll(async () => {
      pipeline = await GenerationPipeline.load(MODEL_DIR);
    });
    afterAll(() => pipeline?.release());

    it('case 0 text features, timing tokens and global conditioning match the reference', async () => {
      const c = cases[0];
      const [cond] = await pipeline.encodeConditioning([requestOf(c)]);
      const feats = readNpyFloat32(path.join(GOLDEN_DIR, 'case0.text_features.npy'));
      const timing = readNpyFloat32(path.join(GOLDEN_DIR, 'case0.timing_tokens.npy'));
      const global = readNpyFloat32(path.join(GOLDEN_DIR, 'case0.global_cond.npy'));
      expect(maxAbsDiff(cond.text.features, feats.data)).toBeLessThan(1e-4);
      expect(maxAbsDiff(cond.timingTokens, timing.data)).toBeLessThan(1e-4);
      expect(maxAbsDiff(cond.globalCond, global.data)).toBeLessThan(1e-4);
    });

    it('case 0: one U-Net call (x = stream-0 noise, t = 0.5, conditional row) and a 4-frame VAE decode match the reference', async () => {
      const m = pipeline.manifest;
      const c = cases[0];
      const [cond] = await pipeline.encodeConditioning([requestOf(c)]);
      const batch = buildBatchConditioning([cond], m.tokenizer.max_length, m.text_encoder.dim, cond.globalCond.length);
      const tokens = batch.tokens;
      const x = normals(c.seed, 0, m.latent_channels * m.window_frames);
      const unet = await ort.InferenceSession.create(path.join(MODEL_DIR, m.diffusion.file));
      const decoder = await ort.InferenceSession.create(path.join(MODEL_DIR, m.vae.decoder.file));
      try {
        const inputs = m.diffusion.inputs;
        const v = await unet.run({
          [inputs.x]: new ort.Tensor('float32', x, [1, m.latent_channels, m.window_frames]),
          [inputs.t]: new ort.Tensor('float32', Float32Array.of(0.5), [1]),
          [inputs.cross_attn_cond]: new ort.Tensor('float32', batch.crossAttnCond.subarray(0, tokens * m.text_encoder.dim), [1, tokens, m.text_encoder.dim]),
          [inputs.cross_attn_mask!]: new ort.Tensor('float32', batch.crossAttnMask.subarray(0, tokens), [1, tokens]),
          [inputs.global_cond]: new ort.Tensor('float32', cond.globalCond, [1, cond.globalCond.length]),
        });
        const expectedV = readNpyFloat32(path.join(GOLDEN_DIR, 'case0.unet_v_at_t0.5_x_stream0.npy'));
        expect(maxAbsDiff(v[m.diffusion.outputs.v].data as Float32Array, expectedV.data)).toBeLessThan(1e-4);

        const firstFrames = new Float32Array(m.latent_channels * 4);
        for (let ch = 0; ch < m.latent_channels; ch++) firstFrames.set(x.subarray(ch * m.window_frames, ch * m.window_frames + 4), ch * 4);
        const audio = await decoder.run({ [m.vae.decoder.inputs.latent]: new ort.Tensor('float32', firstFrames, [1, m.latent_channels, 4]) });
        const expectedAudio = readNpyFloat32(path.join(GOLDEN_DIR, 'case0.vae_decode_first4frames_of_x.npy'));
        // The 1e-4 contract is on latents. The decoder rebuilds phase as a running sum of per-bin frequencies, so
        // float32 rounding (PyTorch's FFT iSTFT against the graph's conv iSTFT) grows along the frames: audio is held
        // to 1e-3 of full scale (−60 dB) on this deliberately loud, noise-latent decode.
        expect(maxAbsDiff(audio[m.vae.decoder.outputs.audio].data as Float32Array, expectedAudio.data)).toBeLessThan(1e-3);
      } finally {
        await Promise.all([unet.release(), decoder.release()]);
      }
    });

    it.each(cases.map((c) => [c.name, c] as const))('%s: final latent within 1e-4 of the reference', async (_, c) => {
      const expected = readNpyFloat32(path.join(GOLDEN_DIR, c.latent_file));
      const latent = await pipeline.sampleLatents([{ request: requestOf(c) }], {
        schedule: { schedule: c.schedule, sigmaMin: c.sigma_min, sigmaMax: c.sigma_max, rho: c.rho },
      });
      expect(maxAbsDiff(latent, expected.data)).toBeLessThan(1e-4);
    });

    it('batch of two (each its own seed and seconds_total): latents within 1e-4 of the reference batch', async () => {
      const b = golden.batch_case;
      const expected = readNpyFloat32(path.join(GOLDEN_DIR, b.latent_file));
      const base = { ...b, negative_prompt: b.negative_prompt } as unknown as GoldenCase;
      const items = b.prompts.map((prompt: string, i: number) => ({
        request: requestOf(base, prompt, b.seeds[i], b.seconds_total[i], b.seconds_start[i]),
      }));
      const latent = await pipeline.sampleLatents(items);
      expect(maxAbsDiff(latent, expected.data)).toBeLessThan(1e-4);
    });
  });
});
