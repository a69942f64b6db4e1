/**
 * Community exports (issue 17, item 4): a user holding their own ONNX split of a Stable Audio model (Arm's SAO Small
 * split, say) writes a model.json by hand naming its files and its inputs and outputs, and the pipeline runs it.
 * The graphs are models/importer/fixtures/community-split (make_community_split.py): tiny random networks with SAO
 * Small's interfaces (no seconds_start, one timing token, no mask input, rf_denoiser) and none of our names.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SamplerName } from '@chorus/contracts';
import { validateGenerationRequest, type GenerationRequest } from './generation';
import { loadManifest } from './graphs';
import { readNpyFloat32 } from './npy';
import { GenerationPipeline, type ItemOutcome } from './pipeline';

const SPLIT_DIR = path.resolve(__dirname, '../../../models/importer/fixtures/community-split');
const GOLDEN_DIR = path.resolve(__dirname, '../../../models/importer/golden/sampler');

/** make_sampler_goldens.py's `pipeline_cases`: upstream's sampler and guidance on this split's own torch modules. */
interface PipelineCase {
  name: string;
  sampler: SamplerName;
  steps: number;
  cfg_rescale: number;
  cfg_interval: [number, number];
  requests: Array<{ prompt: string; negative_prompt?: string; seconds_total: number; cfg_scale: number; seed: number }>;
  latents: string;
}
const pipelineCases: PipelineCase[] = JSON.parse(readFileSync(path.join(GOLDEN_DIR, 'index.json'), 'utf8')).pipeline;

const handWritten = {
  name: 'community-sao-small-split',
  version: '1.0.0',
  sample_rate: 2048,
  channels: 2,
  latent_channels: 4,
  downsampling_ratio: 64,
  window_frames: 32,
  tokenizer: { kind: 'byte', max_length: 16 },
  text_encoder: {
    file: 'text_model_float32.onnx',
    dim: 8,
    inputs: { ids: 'ids_in', mask: 'mask_in' },
    outputs: { features: 'last_hidden' },
  },
  timing: {
    file: 'conditioners_float32.onnx',
    seconds_total: { min: 0, max: 1 },
    inputs: { seconds_total: 'sec_total' },
    outputs: { tokens: 'cross_tokens', global: 'global_vec' },
  },
  diffusion: {
    file: 'dit_model_float32.onnx',
    objective: 'rf_denoiser',
    uncond: 'zero_all_tokens',
    inputs: { x: 'latents', t: 'timestep', cross_attn_cond: 'encoder_states', global_cond: 'global_embedding' },
    outputs: { v: 'velocity' },
  },
  vae: { decoder: { file: 'autoencoder_float32.onnx', inputs: { latent: 'z' }, outputs: { audio: 'waveform' } } },
  defaults: { steps: 8, sampler: 'pingpong', cfg_scale: 1, schedule: 'rf_logsnr', sigma_max: 1 },
};

const dir = mkdtempSync(path.join(tmpdir(), 'chorus-community-split-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a hand-written model.json over a community ONNX split', () => {
  let pipeline: GenerationPipeline;
  beforeAll(async () => {
    for (const f of readdirSync(SPLIT_DIR)) copyFileSync(path.join(SPLIT_DIR, f), path.join(dir, f));
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(handWritten, null, 2));
    pipeline = await GenerationPipeline.load(dir);
  });
  afterAll(() => pipeline?.release());

  const request = (over: Partial<GenerationRequest> = {}): GenerationRequest =>
    validateGenerationRequest(pipeline.manifest, { prompt: 'a kick drum', secondsTotal: 0.5, seed: 3, ...over });

  it('passes the graph-name check: every name model.json gives exists and every graph input is fed', async () => {
    await expect(loadManifest(dir)).resolves.toMatchObject({ name: handWritten.name });
  });

  it('generates a clip of seconds_total with the model defaults (pingpong, 8 steps, cfg 1)', async () => {
    const r = request();
    expect(r).toMatchObject({ sampler: 'pingpong', steps: 8, cfgScale: 1 });
    const outcomes: ItemOutcome[] = [];
    await pipeline.run([{ request: r }], (_, o) => outcomes.push(o));
    expect(outcomes).toHaveLength(1);
    const outcome = outcomes[0];
    if (!outcome.ok) throw outcome.error;
    expect(outcome.audio.frames).toBe(Math.round(0.5 * handWritten.sample_rate));
    expect(outcome.audio.channels).toHaveLength(2);
    expect(outcome.audio.channels.every((ch) => ch.every(Number.isFinite) && ch.some((v) => v !== 0))).toBe(true);
  });

  it('at cfg 1 each step is one network pass over the conditional rows only; at cfg 7 the batch doubles', async () => {
    const passes = async (cfgScales: number[]) => {
      const rows: number[] = [];
      await pipeline.sampleLatents(cfgScales.map((cfgScale, i) => ({ request: request({ cfgScale, seed: i }) })), { onNetworkPass: (n) => rows.push(n) });
      return rows;
    };
    expect(await passes([1, 1])).toEqual(Array(8).fill(2));
    expect(await passes([7, 7])).toEqual(Array(8).fill(4));
    expect(await passes([1, 7])).toEqual(Array(8).fill(3));
  });

  it('cfg_interval: only steps whose t lies in the interval run the unconditional rows', async () => {
    const rows: number[] = [];
    await pipeline.sampleLatents([{ request: request({ cfgScale: 7 }) }], { guidance: { cfgInterval: [0, 0.5] }, onNetworkPass: (n) => rows.push(n) });
    // rf_logsnr at 8 steps: t = 1, .993, .982, .953, .881, .731, .5, .269
    expect(rows).toEqual([1, 1, 1, 1, 1, 1, 2, 2]);
  });

  it('an item at cfg 1 gives the same latent alone and batched beside a guided item (its own rows, its own noise)', async () => {
    const alone = await pipeline.sampleLatents([{ request: request({ cfgScale: 1, seed: 5 }) }]);
    const beside = await pipeline.sampleLatents([{ request: request({ cfgScale: 1, seed: 5 }) }, { request: request({ cfgScale: 7, seed: 6 }) }]);
    let worst = 0;
    for (let i = 0; i < alone.length; i++) worst = Math.max(worst, Math.abs(alone[i] - beside[i]));
    expect(worst).toBeLessThan(1e-5);
  });

  it.each(pipelineCases.map((c) => [c.name, c] as const))(
    '%s: latents match upstream sample_rf with DiT guidance driving the same networks, noise and requests (within 1e-5)',
    async (_, c) => {
      const expected = readNpyFloat32(path.join(GOLDEN_DIR, c.latents)).data;
      const latents = await pipeline.sampleLatents(
        c.requests.map((r) => ({
          request: request({
            prompt: r.prompt,
            ...(r.negative_prompt && { negativePrompt: r.negative_prompt }),
            secondsTotal: r.seconds_total,
            cfgScale: r.cfg_scale,
            seed: r.seed,
            sampler: c.sampler,
            steps: c.steps,
          }),
        })),
        { guidance: { cfgRescale: c.cfg_rescale, cfgInterval: c.cfg_interval } },
      );
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(latents[i] - expected[i]));
      expect(worst).toBeLessThan(1e-5);
    },
  );

  it('refuses a seconds_start (the split has no seconds_start conditioning) and a sampler its objective does not take', () => {
    expect(() => request({ secondsStart: 4 })).toThrow(/secondsStart must be 0 \(the model has no seconds_start conditioning\), got 4/);
    expect(() => request({ sampler: 'dpmpp-3m-sde' })).toThrow(/sampler must be one of pingpong, euler \(the samplers of this model's objective, rf_denoiser\)/);
  });
});
