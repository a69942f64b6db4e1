import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeAudio, type AudioFormat } from './audio-encoders';
import type { GeneratedAudio } from './generation';

const SAMPLE_RATE = 44100;
const FRAMES = Math.round(1.5 * SAMPLE_RATE);

/** 1.5 s of stereo: a 440 Hz sine left, 660 Hz right, and a few out-of-range peaks. */
function testAudio(): GeneratedAudio {
  const left = new Float32Array(FRAMES);
  const right = new Float32Array(FRAMES);
  for (let i = 0; i < FRAMES; i++) {
    left[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE);
    right[i] = 0.25 * Math.sin((2 * Math.PI * 660 * i) / SAMPLE_RATE);
  }
  left[100] = 1.7; // would wrap to a large negative value without clamping
  left[101] = -3;
  return { channels: [left, right], sampleRate: SAMPLE_RATE, frames: FRAMES, seed: 1, timingsMs: { textEncoding: 0, sampling: 0, decoding: 0 } };
}

const dir = mkdtempSync(path.join(tmpdir(), 'chorus-enc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function writeEncoded(format: AudioFormat, wavBitDepth?: 16 | 24 | 32): Promise<string> {
  const file = path.join(dir, `out-${wavBitDepth ?? ''}.${format}`);
  writeFileSync(file, await encodeAudio(testAudio(), format, { wavBitDepth }));
  return file;
}

/** Decodes with Debian's ffmpeg into per-channel float arrays. */
function ffmpegDecode(file: string): Float32Array[] {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'f32le', '-acodec', 'pcm_f32le', '-'], { maxBuffer: 64 << 20 });
  const interleaved = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const frames = interleaved.length / 2;
  const channels = [new Float32Array(frames), new Float32Array(frames)];
  for (let i = 0; i < frames; i++) {
    channels[0][i] = interleaved[2 * i];
    channels[1][i] = interleaved[2 * i + 1];
  }
  return channels;
}

function ffprobe(file: string): { codec_name: string; sample_rate: string; channels: number } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,sample_rate,channels', '-of', 'json', file]);
  return JSON.parse(out.toString()).streams[0];
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const clamped = (c: Float32Array) => c.map((v) => Math.max(-1, Math.min(1, v)));

describe('encodeAudio', () => {
  it.each([
    [16, 'pcm_s16le', 1 / 32767],
    [24, 'pcm_s24le', 1 / 8388607],
    [32, 'pcm_f32le', 0],
  ] as const)('writes %i-bit WAV that ffmpeg decodes back to the same samples', async (bits, codec, tolerance) => {
    const file = await writeEncoded('wav', bits);
    expect(ffprobe(file)).toMatchObject({ codec_name: codec, sample_rate: '44100', channels: 2 });
    const [left, right] = ffmpegDecode(file);
    const source = testAudio();
    expect(left.length).toBe(FRAMES);
    expect(maxAbsDiff(left, clamped(source.channels[0]))).toBeLessThanOrEqual(tolerance * 1.01);
    expect(maxAbsDiff(right, source.channels[1])).toBeLessThanOrEqual(tolerance * 1.01);
    expect(execFileSync('sox', ['--i', '-s', file]).toString().trim()).toBe(String(FRAMES));
  });

  it('defaults WAV to 16-bit PCM', async () => {
    const file = path.join(dir, 'default.wav');
    writeFileSync(file, await encodeAudio(testAudio(), 'wav'));
    expect(ffprobe(file).codec_name).toBe('pcm_s16le');
  });

  it('clamps peaks instead of wrapping them around', async () => {
    const [left] = ffmpegDecode(await writeEncoded('wav', 16));
    expect(left[100]).toBeCloseTo(1, 4);
    expect(left[101]).toBeCloseTo(-1, 4);
  });

  it('writes FLAC that flac -t verifies and ffmpeg decodes back to the 16-bit samples', async () => {
    const file = await writeEncoded('flac');
    execFileSync('flac', ['-t', '-s', file]); // throws on a corrupt stream
    expect(ffprobe(file)).toMatchObject({ codec_name: 'flac', sample_rate: '44100', channels: 2 });
    const [left, right] = ffmpegDecode(file);
    expect(left.length).toBe(FRAMES);
    expect(maxAbsDiff(left, clamped(testAudio().channels[0]))).toBeLessThanOrEqual(1.01 / 32767);
    expect(maxAbsDiff(right, testAudio().channels[1])).toBeLessThanOrEqual(1.01 / 32767);
  });

  it('writes MP3 that ffmpeg decodes to stereo 44.1 kHz of the right length and loudness', async () => {
    const file = await writeEncoded('mp3');
    expect(ffprobe(file)).toMatchObject({ codec_name: 'mp3', sample_rate: '44100', channels: 2 });
    const [left, right] = ffmpegDecode(file);
    // MP3 adds encoder delay and pads to whole frames: at most a few frames of 1152 samples.
    expect(left.length).toBeGreaterThanOrEqual(FRAMES);
    expect(left.length).toBeLessThan(FRAMES + 4 * 1152);
    const rms = (c: Float32Array) => Math.sqrt(c.reduce((s, v) => s + v * v, 0) / FRAMES);
    expect(rms(left)).toBeCloseTo(0.5 / Math.SQRT2, 1);
    expect(rms(right)).toBeCloseTo(0.25 / Math.SQRT2, 1);
  });

  it('refuses an unknown format or bit depth', async () => {
    await expect(encodeAudio(testAudio(), 'ogg' as AudioFormat)).rejects.toThrow(/wav, flac or mp3/);
    await expect(encodeAudio(testAudio(), 'wav', { wavBitDepth: 8 as 16 })).rejects.toThrow(/16, 24 or 32/);
  });
});
