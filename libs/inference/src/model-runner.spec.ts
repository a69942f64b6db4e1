import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAudio } from './audio-encoders';
import { ExecutionProviderError, InferenceThreadError, InvalidRequestError, ModelLoadError } from './errors';
import type { GeneratedAudio, GenerationRequest } from './generation';
import { ModelRunner } from './model-runner';

const MODEL_DIR = path.resolve(__dirname, '../../../models/chorus-tiny');

/** Few steps keep the suite quick; the code path is the same as at 50. */
const base: GenerationRequest = {
  prompt: 'a sine tone at 440 Hz',
  secondsStart: 0,
  secondsTotal: 2.5,
  steps: 6,
  cfgScale: 5,
  sampler: 'dpmpp-3m-sde',
  seed: 42,
};

function maxAbsDiff(a: GeneratedAudio, b: GeneratedAudio): number {
  expect(a.frames).toBe(b.frames);
  let m = 0;
  a.channels.forEach((c, ch) => {
    for (let i = 0; i < c.length; i++) m = Math.max(m, Math.abs(c[i] - b.channels[ch][i]));
  });
  return m;
}

describe('ModelRunner on the shipped model', () => {
  let runner: ModelRunner;
  beforeAll(async () => {
    runner = await ModelRunner.start({ modelDir: MODEL_DIR, executionProvider: 'cpu' });
  });
  afterAll(() => runner?.close());

  it('starts warm on the CPU and exposes the manifest', () => {
    expect(runner.executionProvider).toBe('cpu');
    expect(runner.manifest.name).toBe('chorus-tiny');
    expect(runner.loadMs).toBeGreaterThan(0);
  });

  it.each([2.5, 1 / 3])('returns exactly round(seconds_total × rate) frames on 2 channels for seconds_total %f', async (secondsTotal) => {
    const audio = await runner.generate({ ...base, secondsTotal });
    expect(audio.sampleRate).toBe(runner.manifest.sample_rate);
    expect(audio.frames).toBe(Math.round(secondsTotal * runner.manifest.sample_rate));
    expect(audio.channels).toHaveLength(2);
    for (const c of audio.channels) {
      expect(c.length).toBe(audio.frames);
      expect(c.every((v) => v >= -1 && v <= 1)).toBe(true);
    }
    expect(audio.seed).toBe(base.seed);
    expect(audio.timingsMs.sampling).toBeGreaterThan(0);
    expect(audio.timingsMs.decoding).toBeGreaterThan(0);
  });

  it('reports progress once per step', async () => {
    const steps: number[] = [];
    await runner.generate({ ...base, sampler: 'euler' }, { onProgress: (p) => steps.push(p.step) });
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('gives byte-identical files for the same seed and different audio for another seed', async () => {
    const a = await runner.generate(base);
    const b = await runner.generate(base);
    const c = await runner.generate({ ...base, seed: 43 });
    expect((await encodeAudio(b, 'wav', { wavBitDepth: 32 })).equals(await encodeAudio(a, 'wav', { wavBitDepth: 32 }))).toBe(true);
    // Beyond the 1e-4 within which batch and solo runs count as the same audio.
    expect((await encodeAudio(c, 'wav', { wavBitDepth: 32 })).equals(await encodeAudio(a, 'wav', { wavBitDepth: 32 }))).toBe(false);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-4);
  });

  it('aborts mid-sampling with an AbortError and stays usable', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const run = runner.generate(
      { ...base, steps: 40 },
      {
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p.step);
          if (p.step === 3) controller.abort();
        },
      },
    );
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(Math.max(...seen)).toBeLessThan(40);
    expect((await runner.generate(base)).frames).toBe(Math.round(2.5 * runner.manifest.sample_rate));
  });

  it('rejects an already-aborted request without running it', async () => {
    const steps: number[] = [];
    await expect(runner.generate(base, { signal: AbortSignal.abort(), onProgress: (p) => steps.push(p.step) })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(steps).toEqual([]);
  });

  describe('batches', () => {
    const items: GenerationRequest[] = [
      { ...base, prompt: 'a square wave at 220 hz', seed: 1, cfgScale: 4, secondsTotal: 2 },
      { ...base, prompt: 'a kick drum at 120 bpm', negativePrompt: 'white noise', seed: 2, cfgScale: 7, secondsStart: 1, secondsTotal: 3 },
    ];

    it('gives each item what it would get alone (within 1e-4)', async () => {
      const solo = [await runner.generate(items[0]), await runner.generate(items[1])];
      const batch = await runner.generateBatch(items.map((request) => ({ request })));
      batch.forEach((result, i) => {
        expect(result.status).toBe('fulfilled');
        const audio = (result as PromiseFulfilledResult<GeneratedAudio>).value;
        expect(audio.seed).toBe(items[i].seed);
        expect(maxAbsDiff(audio, solo[i])).toBeLessThan(1e-4);
      });
    });

    it('aborting one item leaves the other as it would be alone', async () => {
      const solo = await runner.generate(items[0]);
      const controller = new AbortController();
      const [kept, aborted] = await runner.generateBatch([
        { request: items[0] },
        { request: items[1], signal: controller.signal, onProgress: (p) => p.step === 2 && controller.abort() },
      ]);
      expect(aborted.status).toBe('rejected');
      expect((aborted as PromiseRejectedResult).reason.name).toBe('AbortError');
      expect(kept.status).toBe('fulfilled');
      expect(maxAbsDiff((kept as PromiseFulfilledResult<GeneratedAudio>).value, solo)).toBeLessThan(1e-4);
    });

    it('an item aborted before the batch starts is rejected and the rest run as usual', async () => {
      const solo = await runner.generate(items[1]);
      const [aborted, kept] = await runner.generateBatch([{ request: items[0], signal: AbortSignal.abort() }, { request: items[1] }]);
      expect((aborted as PromiseRejectedResult).reason.name).toBe('AbortError');
      expect(maxAbsDiff((kept as PromiseFulfilledResult<GeneratedAudio>).value, solo)).toBeLessThan(1e-4);
    });

    it('refuses items with different samplers or steps', async () => {
      await expect(runner.generateBatch([{ request: base }, { request: { ...base, sampler: 'euler' } }])).rejects.toThrow(InvalidRequestError);
      await expect(runner.generateBatch([{ request: base }, { request: { ...base, steps: 7 } }])).rejects.toThrow(/steps/);
    });
  });
});

describe('ModelRunner start-up', () => {
  it('names a missing model folder', async () => {
    await expect(ModelRunner.start({ modelDir: '/nonexistent/model' })).rejects.toThrow(ModelLoadError);
    await expect(ModelRunner.start({ modelDir: '/nonexistent/model' })).rejects.toThrow(/\/nonexistent\/model does not exist/);
  });

  it('refuses a CPU fallback when a GPU is required', async () => {
    await expect(ModelRunner.start({ modelDir: MODEL_DIR, executionProvider: 'cpu', requireGpu: true })).rejects.toThrow(ExecutionProviderError);
  });

  it('with CUDA asked for but unavailable, refuses to start if a GPU is required, else falls back to the CPU and says why', async () => {
    await expect(ModelRunner.start({ modelDir: MODEL_DIR, executionProvider: 'cuda', requireGpu: true })).rejects.toThrow(/CUDA/);
    const runner = await ModelRunner.start({ modelDir: MODEL_DIR, executionProvider: 'cuda' });
    try {
      expect(runner.executionProvider).toBe('cpu');
      expect(runner.fallbackReason).toMatch(/CUDA/);
    } finally {
      await runner.close();
    }
  });

  it('rejects work after close', async () => {
    const runner = await ModelRunner.start({ modelDir: MODEL_DIR });
    await runner.close();
    await expect(runner.generate(base)).rejects.toThrow(InferenceThreadError);
  });
});
