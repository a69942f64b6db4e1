import { describe, expect, it } from 'vitest';
import { binFrequency, computeSpectrogram, fftInPlace, mixToMono, renderSpectrogram } from './spectrogram';

const sampleRate = 44_100;
const sine = (frequency: number, seconds: number, amplitude = 1) =>
  Float32Array.from({ length: Math.round(seconds * sampleRate) }, (_, i) => amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate));

function loudestBin(db: Float32Array, column: number, bins: number): number {
  let best = 0;
  for (let bin = 1; bin < bins; bin++) if (db[column * bins + bin]! > db[column * bins + best]!) best = bin;
  return best;
}

describe('fftInPlace', () => {
  it('matches a direct DFT on an arbitrary signal', () => {
    const input = [0.3, -1, 2.5, 0, 0.7, 1.1, -0.4, 0.9];
    const re = Float64Array.from(input);
    const im = new Float64Array(input.length);
    fftInPlace(re, im);
    input.forEach((_, k) => {
      let dftRe = 0;
      let dftIm = 0;
      input.forEach((x, n) => {
        dftRe += x * Math.cos((-2 * Math.PI * k * n) / input.length);
        dftIm += x * Math.sin((-2 * Math.PI * k * n) / input.length);
      });
      expect(re[k]).toBeCloseTo(dftRe, 9);
      expect(im[k]).toBeCloseTo(dftIm, 9);
    });
  });
});

describe('computeSpectrogram', () => {
  it('puts a 440 Hz sine in the bin nearest 440 Hz, in every column', () => {
    const spectrogram = computeSpectrogram(sine(440, 1), sampleRate, { fftSize: 2048, columns: 16 });
    const expectedBin = Math.round((440 * 2048) / sampleRate);
    for (let column = 0; column < spectrogram.columns; column++) {
      expect(loudestBin(spectrogram.db, column, spectrogram.bins)).toBe(expectedBin);
    }
    expect(Math.abs(binFrequency(spectrogram, expectedBin) - 440)).toBeLessThan(sampleRate / 2048);
  });

  it('reads a full-scale sine at about 0 dB and a quieter one proportionally lower', () => {
    const loud = computeSpectrogram(sine(1000, 0.5), sampleRate, { columns: 4 });
    const quiet = computeSpectrogram(sine(1000, 0.5, 0.1), sampleRate, { columns: 4 });
    const peak = (s: typeof loud) => Math.max(...s.db);
    expect(peak(loud)).toBeGreaterThan(-3);
    expect(peak(loud)).toBeLessThan(1);
    expect(peak(loud) - peak(quiet)).toBeCloseTo(20, 1);
  });

  it('follows a tone that changes pitch over time', () => {
    const samples = new Float32Array([...sine(200, 0.5), ...sine(3000, 0.5)]);
    const spectrogram = computeSpectrogram(samples, sampleRate, { fftSize: 1024, columns: 10 });
    const first = binFrequency(spectrogram, loudestBin(spectrogram.db, 0, spectrogram.bins));
    const last = binFrequency(spectrogram, loudestBin(spectrogram.db, 9, spectrogram.bins));
    expect(Math.abs(first - 200)).toBeLessThan(50);
    expect(Math.abs(last - 3000)).toBeLessThan(50);
  });

  it('rejects an FFT size that is not a power of two', () => {
    expect(() => computeSpectrogram(new Float32Array(10), sampleRate, { fftSize: 1000 })).toThrow(/power of two/);
  });
});

describe('mixToMono', () => {
  it('averages the channels', () => {
    expect(Array.from(mixToMono([Float32Array.of(1, 0.5), Float32Array.of(0, 0.5)]))).toEqual([0.5, 0.5]);
  });
});

describe('renderSpectrogram', () => {
  it('draws a tone as a bright row and silence as black', () => {
    const samples = new Float32Array([...sine(1000, 0.5), ...new Float32Array(sampleRate / 2)]);
    const spectrogram = computeSpectrogram(samples, sampleRate, { columns: 20 });
    const width = 20;
    const height = 50;
    const pixels = renderSpectrogram(spectrogram, width, height);
    expect(pixels.length).toBe(width * height * 4);
    const brightness = (x: number, y: number) => pixels[(y * width + x) * 4]! + pixels[(y * width + x) * 4 + 1]! + pixels[(y * width + x) * 4 + 2]!;
    const brightestRowAtStart = Array.from({ length: height }, (_, y) => brightness(2, y)).reduce((best, value, y, all) => (value > all[best]! ? y : best), 0);
    expect(brightness(2, brightestRowAtStart)).toBeGreaterThan(600);
    expect(brightness(width - 1, brightestRowAtStart)).toBeLessThan(30);
  });
});
