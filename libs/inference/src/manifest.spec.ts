import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelLoadError } from './errors';
import { loadManifest } from './graphs';
import { readManifest, windowSeconds } from './manifest';

const MODEL_DIR = path.resolve(__dirname, '../../../models/chorus-tiny');
const work = mkdtempSync(path.join(tmpdir(), 'chorus-manifest-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A copy of the shipped model whose model.json has been changed by `edit`. */
function modelWith(name: string, edit: (manifest: Record<string, any>) => void): string {
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(MODEL_DIR)) if (f.endsWith('.onnx')) copyFileSync(path.join(MODEL_DIR, f), path.join(dir, f));
  const manifest = JSON.parse(readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8'));
  edit(manifest);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest));
  return dir;
}

describe('readManifest', () => {
  it('reads the shipped model', async () => {
    const m = await readManifest(MODEL_DIR);
    expect(m.name).toBe('chorus-tiny');
    expect(m.tokenizer.kind).toBe('byte');
    expect(windowSeconds(m)).toBeCloseTo((m.window_frames * m.downsampling_ratio) / m.sample_rate, 12);
  });

  it('names a missing folder, a missing model.json and bad JSON', async () => {
    await expect(readManifest(path.join(work, 'nope'))).rejects.toThrow(/nope does not exist/);
    const empty = path.join(work, 'empty');
    mkdirSync(empty, { recursive: true });
    await expect(readManifest(empty)).rejects.toThrow(/empty\/model\.json: missing/);
    writeFileSync(path.join(empty, 'model.json'), '[1, 2');
    await expect(readManifest(empty)).rejects.toThrow(/empty\/model\.json: not valid JSON/);
  });

  it('names each field that breaks the schema', async () => {
    const dir = modelWith('schema', (m) => {
      m.sample_rate = -1;
      m.defaults.sampler = 'ddim';
      m.diffusion.objective = 'eps';
    });
    const error = await readManifest(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/sample_rate/);
    expect((error as Error).message).toMatch(/defaults\.sampler/);
    expect((error as Error).message).toMatch(/diffusion\.objective/);
  });

  it('names a graph file that is missing or escapes the folder', async () => {
    await expect(readManifest(modelWith('missing', (m) => (m.timing.file = 'gone.onnx')))).rejects.toThrow(/gone\.onnx: missing \(named by timing\.file/);
    await expect(readManifest(modelWith('escape', (m) => (m.timing.file = '../timing.onnx')))).rejects.toThrow(/timing\.file must be a file name inside the model folder/);
  });

  it('requires a tokenizer file for Hugging Face tokenizers', async () => {
    await expect(readManifest(modelWith('hf', (m) => {
      m.tokenizer = { kind: 'hf', file: null, max_length: 80, numeric_features: false };
    }))).rejects.toThrow(/tokenizer\.file is required/);
  });
});

describe('readManifest: objectives, samplers, schedules and guidance', () => {
  const refusal = async (name: string, edit: (m: Record<string, any>) => void) => ((await readManifest(modelWith(name, edit)).catch((e: unknown) => e)) as Error).message;

  it('refuses a default sampler its objective does not take, naming the ones it does', async () => {
    expect(await refusal('v-pingpong', (m) => (m.defaults.sampler = 'pingpong'))).toMatch(/defaults\.sampler must be one of euler, dpmpp-2m, dpmpp-3m-sde for objective "v"/);
    const rf = (m: Record<string, any>) => Object.assign(m.defaults, { sampler: 'dpmpp-3m-sde', schedule: 'rf_logsnr', sigma_max: 1 });
    expect(await refusal('rf-3msde', (m) => ((m.diffusion.objective = 'rf_denoiser'), rf(m)))).toMatch(/defaults\.sampler must be one of pingpong, euler for objective "rf_denoiser"/);
  });

  it('refuses a schedule of the other objective, and a flow time above 1', async () => {
    expect(await refusal('v-rf-schedule', (m) => (m.defaults.schedule = 'rf_logsnr'))).toMatch(/defaults\.schedule must be one of polyexponential, karras for objective "v"/);
    const rf = (m: Record<string, any>) => {
      m.diffusion.objective = 'rectified_flow';
      m.defaults.sampler = 'euler';
    };
    expect(await refusal('rf-poly', rf)).toMatch(/defaults\.schedule must be one of rf_logsnr, rf_linear for objective "rectified_flow"/);
    expect(await refusal('rf-sigma', (m) => (rf(m), (m.defaults.schedule = 'rf_logsnr')))).toMatch(/defaults\.sigma_max must be <= 1 for objective "rectified_flow"/);
  });

  it('accepts a rectified-flow model without sigma_min and rho, and fills the guidance defaults', async () => {
    const m = await readManifest(modelWith('rf-ok', (m) => {
      m.diffusion.objective = 'rf_denoiser';
      m.diffusion.uncond = 'zero_all_tokens';
      Object.assign(m.defaults, { sampler: 'pingpong', schedule: 'rf_linear', sigma_max: 1, dist_shift: {} });
      delete m.defaults.sigma_min;
      delete m.defaults.rho;
    }));
    expect(m.defaults).toMatchObject({ cfg_rescale: 0, cfg_interval: [0, 1], dist_shift: { base_shift: 0.5, max_shift: 1.15, min_length: 256, max_length: 4096, use_sine: false } });
  });

  it('keeps chorus-tiny on zero_text guidance, which takes no rescale or interval', async () => {
    expect((await readManifest(MODEL_DIR)).diffusion.uncond).toBe('zero_text');
    expect(await refusal('zero-text-rescale', (m) => (m.defaults.cfg_rescale = 0.7))).toMatch(/defaults\.cfg_rescale must be 0 with diffusion\.uncond "zero_text"/);
    expect(await refusal('zero-text-interval', (m) => (m.defaults.cfg_interval = [0.1, 1]))).toMatch(/defaults\.cfg_interval must be \[0, 1\] with diffusion\.uncond "zero_text"/);
  });

  it('refuses a seconds_start range without its graph input, and dist_shift on a schedule that ignores it', async () => {
    expect(await refusal('half-start', (m) => delete m.timing.inputs.seconds_start)).toMatch(/timing\.seconds_start and timing\.inputs\.seconds_start must be both present or both absent/);
    expect(await refusal('shift-poly', (m) => (m.defaults.dist_shift = {}))).toMatch(/defaults\.dist_shift applies only to schedule "rf_linear"/);
  });
});

describe('loadManifest', () => {
  it('accepts the shipped model, whose graphs have the names model.json gives', async () => {
    expect((await loadManifest(MODEL_DIR)).name).toBe('chorus-tiny');
  });

  it('names a wrong input name and lists the graph’s real inputs', async () => {
    const dir = modelWith('wrong-input', (m) => (m.diffusion.inputs.cross_attn_mask = 'mask'));
    await expect(loadManifest(dir)).rejects.toThrow(/unet\.onnx: model\.json diffusion\.inputs\.cross_attn_mask is "mask", but the graph's inputs are \["x", "t", "cross_attn_cond", "cross_attn_mask", "global_cond"\]/);
  });

  it('names a wrong output name', async () => {
    const dir = modelWith('wrong-output', (m) => (m.vae.decoder.outputs.audio = 'waveform'));
    await expect(loadManifest(dir)).rejects.toThrow(/vae_decoder\.onnx: model\.json vae\.decoder\.outputs\.audio is "waveform"/);
  });

  it('names a graph input that model.json does not feed', async () => {
    const dir = modelWith('unfed', (m) => {
      m.tokenizer.numeric_features = false;
      delete m.text_encoder.inputs.numbers;
    });
    await expect(loadManifest(dir)).rejects.toThrow(/text_encoder\.onnx: graph input \["numbers"\] is not named in model\.json text_encoder\.inputs/);
  });
});
