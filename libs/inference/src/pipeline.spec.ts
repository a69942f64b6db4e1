import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GeneratedAudio, GenerationRequest } from './generation';
import { GenerationPipeline } from './pipeline';

const MODEL_DIR = path.resolve(__dirname, '../../../models/chorus-tiny');

const base: GenerationRequest = {
  prompt: 'a dusty breakbeat with vinyl crackle',
  secondsStart: 0,
  secondsTotal: 1,
  steps: 2,
  cfgScale: 1.5,
  sampler: 'dpmpp-3m-sde',
  seed: 7,
};

/** Largest |a − b| over the first `samples` samples of every channel of two [N, channels, samples] decodes. */
function maxAbsDiff(a: { data: Float32Array; samples: number }, b: { data: Float32Array; samples: number }, channels: number, samples: number): number {
  let m = 0;
  for (let c = 0; c < channels; c++) {
    for (let j = 0; j < samples; j++) m = Math.max(m, Math.abs(a.data[c * a.samples + j] - b.data[c * b.samples + j]));
  }
  return m;
}

async function runOne(pipeline: GenerationPipeline, request: GenerationRequest): Promise<GeneratedAudio> {
  let result: GeneratedAudio | Error = new Error('not settled');
  await pipeline.run([{ request }], (_, outcome) => (result = outcome.ok ? outcome.audio : outcome.error));
  if (result instanceof Error) throw result;
  return result;
}

describe('VAE decode of only the latent frames seconds_total needs', () => {
  let pipeline: GenerationPipeline;
  beforeAll(async () => {
    pipeline = await GenerationPipeline.load(MODEL_DIR);
  });
  afterAll(() => pipeline?.release());

  /** Short and long, quiet and loud (the square wave peaks far above full scale before clamping). */
  const requests: GenerationRequest[] = [
    { ...base, secondsTotal: 1 / 3 },
    { ...base, secondsTotal: 1 },
    { ...base, prompt: 'a square wave at 220 hz', seed: 1, steps: 6, cfgScale: 4, secondsTotal: 2 },
    { ...base, prompt: 'a kick drum at 120 bpm', negativePrompt: 'white noise', seed: 2, steps: 6, cfgScale: 7, secondsStart: 1, secondsTotal: 3 },
    { ...base, seed: 3, secondsTotal: 5 },
    { ...base, prompt: 'a sine tone at 440 hz', seed: 4, secondsTotal: 10 },
  ];

  it.each(requests.map((r) => [r.prompt, r.secondsTotal, r] as const))(
    '%s, seconds_total %f: the kept samples are those of the full-window decode within 1e-4',
    async (_, secondsTotal, request) => {
      const m = pipeline.manifest;
      const latent = await pipeline.sampleLatents([{ request }]);
      const kept = Math.round(secondsTotal * m.sample_rate);
      const frames = pipeline.decodeFrames(request);
      expect(frames * m.downsampling_ratio).toBeGreaterThanOrEqual(kept);

      const full = await pipeline.decode([latent]);
      const trimmed = await pipeline.decode([latent], frames);
      expect(trimmed.samples).toBe(frames * m.downsampling_ratio);
      expect(maxAbsDiff(trimmed, full, m.channels, kept)).toBeLessThan(1e-4);
    },
  );

  it('the lookahead is needed: decoding only the frames that cover seconds_total changes its last samples by more than 1e-4', async () => {
    const m = pipeline.manifest;
    const request = requests[4];
    const latent = await pipeline.sampleLatents([{ request }]);
    const kept = Math.round(request.secondsTotal * m.sample_rate);
    const covering = Math.ceil(kept / m.downsampling_ratio);
    expect(covering).toBeGreaterThanOrEqual(m.vae.decoder.min_frames ?? 1);
    const full = await pipeline.decode([latent]);
    expect(maxAbsDiff(await pipeline.decode([latent], covering), full, m.channels, kept)).toBeGreaterThan(1e-4);
  });

  it('min_frames is needed: a loud clip decoded shorter than it differs from the full-window decode by more than 1e-4', async () => {
    const m = pipeline.manifest;
    const request = requests[2];
    const latent = await pipeline.sampleLatents([{ request }]);
    const kept = Math.round(request.secondsTotal * m.sample_rate);
    const short = Math.ceil(kept / m.downsampling_ratio) + m.vae.decoder.lookahead_frames!;
    expect(short).toBeLessThan(m.vae.decoder.min_frames!);
    const full = await pipeline.decode([latent]);
    expect(maxAbsDiff(await pipeline.decode([latent], short), full, m.channels, kept)).toBeGreaterThan(1e-4);
  });

  it('decodes fewer frames than the window for a short clip, and the whole window for keepWindow', () => {
    const m = pipeline.manifest;
    expect(pipeline.decodeFrames(base)).toBeLessThan(m.window_frames);
    expect(pipeline.decodeFrames({ ...base, keepWindow: true })).toBe(m.window_frames);
  });

  it('a batch too long for one VAE pass is decoded in several and gives each item what it would get alone', async () => {
    const long = [1, 2, 3].map((seed) => ({ ...base, steps: 1, seed, secondsTotal: 11.5 }));
    const solo = [];
    for (const request of long) solo.push(await runOne(pipeline, request));
    const batch: GeneratedAudio[] = [];
    await pipeline.run(
      long.map((request) => ({ request })),
      (i, outcome) => {
        if (!outcome.ok) throw outcome.error;
        batch[i] = outcome.audio;
      },
    );
    solo.forEach((audio, i) => {
      expect(batch[i].frames).toBe(audio.frames);
      audio.channels.forEach((channel, c) => {
        let d = 0;
        for (let j = 0; j < audio.frames; j++) d = Math.max(d, Math.abs(channel[j] - batch[i].channels[c][j]));
        expect(d).toBeLessThan(1e-4);
      });
    });
  });

  it('keepWindow returns the full window; without it the audio is exactly seconds_total long and starts the same', async () => {
    const m = pipeline.manifest;
    const window = await runOne(pipeline, { ...base, keepWindow: true });
    const clip = await runOne(pipeline, base);
    expect(window.frames).toBe(m.window_frames * m.downsampling_ratio);
    expect(clip.frames).toBe(Math.round(base.secondsTotal * m.sample_rate));
    clip.channels.forEach((channel, c) => {
      let d = 0;
      for (let j = 0; j < clip.frames; j++) d = Math.max(d, Math.abs(channel[j] - window.channels[c][j]));
      expect(d).toBeLessThan(1e-4);
    });
  });
});

describe('diffusion.unguided_channels', () => {
  it('a channel listed there takes the conditional estimate: listing every channel makes cfg_scale 6 give what cfg_scale 1 gives', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chorus-unguided-'));
    try {
      for (const f of readdirSync(MODEL_DIR)) if (f.endsWith('.onnx')) copyFileSync(path.join(MODEL_DIR, f), path.join(dir, f));
      const manifest = JSON.parse(readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8'));
      manifest.diffusion.unguided_channels = Array.from({ length: manifest.latent_channels }, (_, c) => c);
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest));
      const [unguided, shipped] = await Promise.all([GenerationPipeline.load(dir), GenerationPipeline.load(MODEL_DIR)]);
      try {
        const request: GenerationRequest = { ...base, prompt: 'a square wave at 220 hz', steps: 4, negativePrompt: 'white noise' };
        const guided = await unguided.sampleLatents([{ request: { ...request, cfgScale: 6 } }]);
        const plain = await shipped.sampleLatents([{ request: { ...request, cfgScale: 1 } }]);
        const other = await shipped.sampleLatents([{ request: { ...request, cfgScale: 6 } }]);
        let same = 0;
        let apart = 0;
        for (let i = 0; i < plain.length; i++) {
          same = Math.max(same, Math.abs(guided[i] - plain[i]));
          apart = Math.max(apart, Math.abs(other[i] - plain[i]));
        }
        expect(same).toBeLessThan(1e-6);
        expect(apart).toBeGreaterThan(1e-2);
      } finally {
        await Promise.all([unguided.release(), shipped.release()]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
