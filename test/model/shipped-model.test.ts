import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRunner, type GeneratedAudio, type GenerationRequest } from '@chorus/inference';
import { fftInPlace, mixToMono } from '../../apps/dashboard/src/audio/spectrogram';

// What the shipped chorus-tiny is measured to do (models/chorus-tiny/EVAL.md): duration, stereo
// placement and the pitch of a tone asked for in Hz. Tempo and note names are not asserted:
// EVAL.md shows the model does not follow them reliably yet.
const modelDir = path.resolve(__dirname, '../../models/chorus-tiny');
let runner: ModelRunner;

beforeAll(async () => {
  runner = await ModelRunner.start({ modelDir, executionProvider: 'cpu' });
});

afterAll(async () => {
  await runner?.close();
});

function request(prompt: string, secondsTotal: number, seed: number, keepWindow = false): GenerationRequest {
  const d = runner.manifest.defaults;
  return { prompt, secondsStart: 0, secondsTotal, steps: d.steps, cfgScale: d.cfg_scale, sampler: d.sampler as GenerationRequest['sampler'], seed, keepWindow };
}

function rms(channels: Float32Array[], from: number, to: number): number {
  let sum = 0;
  for (const channel of channels) for (let i = from; i < to; i++) sum += channel[i] * channel[i];
  return Math.sqrt(sum / (channels.length * Math.max(1, to - from)));
}

const db = (ratio: number) => 20 * Math.log10(ratio);

function energy(channel: Float32Array): number {
  let sum = 0;
  for (const x of channel) sum += x * x;
  return sum;
}

/**
 * The strongest spectral peak between 50 Hz and 5 kHz (Hann window, zero-padded to at least 4× the
 * length, parabolic refinement on the log magnitude): evaluate.py's `dominant_freq`.
 */
function dominantFrequency(samples: Float32Array, sampleRate: number): number {
  const n = 1 << Math.ceil(Math.log2(samples.length * 4));
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < samples.length; i++) re[i] = samples[i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (samples.length - 1)));
  fftInPlace(re, im);
  const magnitude = (k: number) => Math.hypot(re[k]!, im[k]!);
  let best = Math.ceil((50 * n) / sampleRate);
  for (let k = best + 1; k <= Math.floor((5000 * n) / sampleRate); k++) if (magnitude(k) > magnitude(best)) best = k;
  const [a, b, c] = [best - 1, best, best + 1].map((k) => Math.log(magnitude(k) + 1e-12)) as [number, number, number];
  const curvature = a - 2 * b + c;
  return ((best + (curvature !== 0 ? (0.5 * (a - c)) / curvature : 0)) * sampleRate) / n;
}

describe('the shipped chorus-tiny model', () => {
  it('measures a pure tone to within 0.1 % (the pitch checks below are only as good as this measure)', () => {
    const sampleRate = 44_100;
    const tone = Float32Array.from({ length: 4 * sampleRate }, (_, i) => Math.sin((2 * Math.PI * 441.7 * i) / sampleRate));
    expect(Math.abs(dominantFrequency(tone, sampleRate) / 441.7 - 1)).toBeLessThan(0.001);
  });

  it.each([
    ['a sine tone at 440 Hz', 440, 1],
    ['a sine tone at 440 Hz', 440, 2],
    ['a sine tone at 440 Hz', 440, 3],
    ['a sine tone at 300 Hz', 300, 4],
  ])('plays "%s" within 3 percent of %d Hz (seed %d, 4 s)', async (prompt, hz, seed) => {
    const audio = await runner.generate(request(prompt, 4, seed));
    const measured = dominantFrequency(mixToMono(audio.channels), audio.sampleRate);
    expect(Math.abs(measured / hz - 1)).toBeLessThan(0.03);
  }, 180_000);

  it.each([
    ['a quiet brown noise on the left', 5],
    ['a loud square wave at 330 hz, plucked', 3],
  ])('falls at least 20 dB silent after seconds_total: "%s" for %d s', async (prompt, seconds) => {
    const audio: GeneratedAudio = await runner.generate(request(prompt, seconds, 1034, true));
    const end = Math.round(seconds * audio.sampleRate);
    expect(audio.frames).toBeGreaterThan(end);
    const before = rms(audio.channels, 0, end);
    const after = rms(audio.channels, end, audio.frames);
    expect(before).toBeGreaterThan(0);
    expect(db(after / before)).toBeLessThanOrEqual(-20);
  }, 180_000);

  it('puts a sound asked for on the left louder on the left, and on the right louder on the right', async () => {
    const left = await runner.generate(request('a quiet brown noise on the left', 4, 7));
    const right = await runner.generate(request('a quiet brown noise on the right', 4, 7));
    expect(db(Math.sqrt(energy(left.channels[0]) / energy(left.channels[1])))).toBeGreaterThan(3);
    expect(db(Math.sqrt(energy(right.channels[1]) / energy(right.channels[0])))).toBeGreaterThan(3);
  }, 180_000);
});
