/**
 * Float audio → file bytes. WAV through @echogarden/wave-codec (on samples interleaved here: wavefile's
 * per-sample packing cost ~10× more, the largest cost after inference on the worker's hot path), FLAC through
 * libflacjs (libFLAC compiled to JS), MP3 through @breezystack/lamejs. Conversion is peak-safe: samples are
 * clamped to [−1, 1] before scaling, so a loud sample saturates instead of wrapping around to the opposite sign.
 */
import type { OutputFormat } from '@chorus/contracts';
import libflacFactory from 'libflacjs';
import { Encoder as FlacEncoder } from 'libflacjs/lib/encoder';
import type { GeneratedAudio } from './generation';

export type AudioFormat = OutputFormat;
export type WavBitDepth = 16 | 24 | 32;

export interface EncodeOptions {
  /** 16 (default) and 24 are integer PCM; 32 is IEEE float. */
  wavBitDepth?: WavBitDepth;
  /** MP3 bitrate in kbit/s (default 192). */
  mp3Kbps?: number;
}

export const AUDIO_MIME_TYPES: Record<AudioFormat, string> = { wav: 'audio/wav', flac: 'audio/flac', mp3: 'audio/mpeg' };

export async function encodeAudio(audio: GeneratedAudio, format: AudioFormat, opts: EncodeOptions = {}): Promise<Buffer> {
  if (audio.channels.length === 0) throw new RangeError('audio has no channels');
  switch (format) {
    case 'wav':
      return encodeWav(audio, opts.wavBitDepth ?? 16);
    case 'flac':
      return encodeFlac(audio);
    case 'mp3':
      return encodeMp3(audio, opts.mp3Kbps ?? 192);
    default:
      throw new RangeError(`unknown audio format ${String(format)}; use wav, flac or mp3`);
  }
}

/** Clamped to [−1, 1]; NaN becomes silence. */
function clampSample(v: number): number {
  return v > 1 ? 1 : v < -1 ? -1 : v === v ? v : 0;
}

/** Signed integer PCM of `bits` bits: full scale is 2^(bits−1) − 1, so +1 and −1 are symmetric. */
function toPcm(channel: Float32Array, bits: 16 | 24): Int32Array<ArrayBuffer> {
  const scale = 2 ** (bits - 1) - 1;
  const out = new Int32Array(channel.length);
  for (let i = 0; i < channel.length; i++) out[i] = Math.round(clampSample(channel[i]) * scale);
  return out;
}

async function encodeWav(audio: GeneratedAudio, bitDepth: WavBitDepth): Promise<Buffer> {
  if (bitDepth !== 16 && bitDepth !== 24 && bitDepth !== 32) throw new RangeError(`WAV bit depth must be 16, 24 or 32, got ${String(bitDepth)}`);
  // ESM-only, like lamejs below.
  const { encodeWaveFromBuffer, SampleFormat } = await import('@echogarden/wave-codec');
  const format = bitDepth === 32 ? SampleFormat.Float : SampleFormat.PCM;
  return Buffer.from(encodeWaveFromBuffer(interleave(audio, bitDepth), audio.sampleRate, audio.channels.length, bitDepth, format));
}

/** The WAV data chunk: frames of interleaved little-endian samples, integer PCM (as toPcm scales it) or 32-bit float. */
function interleave(audio: GeneratedAudio, bitDepth: WavBitDepth): Uint8Array {
  const { channels } = audio;
  const n = channels.length;
  const bytes = bitDepth / 8;
  const out = new Uint8Array(audio.frames * n * bytes);
  const view = new DataView(out.buffer);
  const scale = 2 ** (bitDepth - 1) - 1;
  for (let c = 0; c < n; c++) {
    const channel = channels[c];
    for (let i = 0, at = c * bytes; i < audio.frames; i++, at += n * bytes) {
      const v = clampSample(channel[i]);
      if (bitDepth === 32) {
        view.setFloat32(at, v, true);
      } else if (bitDepth === 16) {
        view.setInt16(at, Math.round(v * scale), true);
      } else {
        const s = Math.round(v * scale);
        view.setInt16(at, s & 0xffff, true);
        view.setInt8(at + 2, s >> 16);
      }
    }
  }
  return out;
}

type Flac = ReturnType<typeof libflacFactory>;
let flacReady: Promise<Flac> | undefined;

/** libFLAC's asm.js build (the wasm build tries to fetch() its file in Node), initialised once. */
function loadFlac(): Promise<Flac> {
  flacReady ??= new Promise((resolve) => {
    const flac = libflacFactory('release');
    if (flac.isReady()) resolve(flac);
    else flac.on('ready', () => resolve(flac));
  });
  return flacReady;
}

async function encodeFlac(audio: GeneratedAudio): Promise<Buffer> {
  const flac = await loadFlac();
  const encoder = new FlacEncoder(flac, {
    sampleRate: audio.sampleRate,
    channels: audio.channels.length,
    bitsPerSample: 16,
    compression: 5,
    totalSamples: audio.frames,
    verify: false,
  });
  try {
    const pcm = audio.channels.map((c) => toPcm(c, 16));
    if (!encoder.encode(pcm) || !encoder.encode()) throw new Error(`FLAC encoder failed (state ${encoder.getState()})`);
    return Buffer.from(encoder.getSamples());
  } finally {
    encoder.destroy();
  }
}

/** lamejs encodes one MPEG frame (1152 samples per channel) at a time. */
const MP3_FRAME = 1152;

async function encodeMp3(audio: GeneratedAudio, kbps: number): Promise<Buffer> {
  if (audio.channels.length > 2) throw new RangeError(`MP3 holds at most 2 channels, the audio has ${audio.channels.length}`);
  // The package is ESM-only in practice (its CommonJS entry is a browser IIFE), hence the dynamic import.
  const { Mp3Encoder } = await import('@breezystack/lamejs');
  const encoder = new Mp3Encoder(audio.channels.length, audio.sampleRate, kbps);
  const pcm = audio.channels.map((c) => Int16Array.from(toPcm(c, 16)));
  const parts: Buffer[] = [];
  // lamejs hands back Int8Array views; Buffer wants the bytes.
  const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  for (let i = 0; i < audio.frames; i += MP3_FRAME) {
    const left = pcm[0].subarray(i, i + MP3_FRAME);
    const right = pcm.length > 1 ? pcm[1].subarray(i, i + MP3_FRAME) : undefined;
    parts.push(bytes(encoder.encodeBuffer(left, right)));
  }
  parts.push(bytes(encoder.flush()));
  return Buffer.concat(parts);
}
