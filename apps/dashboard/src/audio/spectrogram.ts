/**
 * A short-time Fourier transform of decoded audio, computed in the browser, and its picture.
 * Pure functions, so the arithmetic is tested without a browser.
 */
export interface Spectrogram {
  sampleRate: number;
  fftSize: number;
  columns: number;
  /** fftSize / 2 + 1 frequency bins per column */
  bins: number;
  /** power in dB, column-major: `db[column * bins + bin]` */
  db: Float32Array;
}

export interface SpectrogramOptions {
  fftSize?: number;
  columns?: number;
}

export function computeSpectrogram(samples: Float32Array, sampleRate: number, options: SpectrogramOptions = {}): Spectrogram {
  const fftSize = options.fftSize ?? 1024;
  if (fftSize < 2 || (fftSize & (fftSize - 1)) !== 0) throw new RangeError(`fftSize must be a power of two, got ${fftSize}`);
  const columns = Math.max(1, Math.floor(options.columns ?? 512));
  const bins = fftSize / 2 + 1;
  const db = new Float32Array(columns * bins);
  const window = hannWindow(fftSize);
  // Periodic Hann window's coherent gain is 1/2: normalise so a full-scale sine reads about 0 dB.
  const scale = 2 / (fftSize * 0.5);
  const hop = columns > 1 ? Math.max(0, samples.length - fftSize) / (columns - 1) : 0;
  const re = new Float64Array(fftSize);
  const im = new Float64Array(fftSize);

  for (let column = 0; column < columns; column++) {
    const start = Math.round(column * hop);
    for (let i = 0; i < fftSize; i++) {
      const sample = samples[start + i] ?? 0;
      re[i] = sample * window[i]!;
      im[i] = 0;
    }
    fftInPlace(re, im);
    for (let bin = 0; bin < bins; bin++) {
      const magnitude = Math.hypot(re[bin]!, im[bin]!) * scale;
      db[column * bins + bin] = 20 * Math.log10(magnitude + 1e-12);
    }
  }
  return { sampleRate, fftSize, columns, bins, db };
}

/** Mixes a decoded buffer's channels to one, the way a listener hears the sum. */
export function mixToMono(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0]!;
  const length = Math.min(...channels.map((channel) => channel.length));
  const mono = new Float32Array(length);
  for (const channel of channels) for (let i = 0; i < length; i++) mono[i]! += channel[i]! / channels.length;
  return mono;
}

/** Frequency of a spectrogram bin, in Hz. */
export const binFrequency = (spectrogram: Spectrogram, bin: number) => (bin * spectrogram.sampleRate) / spectrogram.fftSize;

export interface DrawOptions {
  /** dB below the loudest cell that maps to black */
  rangeDb?: number;
  /** lowest frequency on the (logarithmic) vertical axis */
  minFrequency?: number;
}

/**
 * Paints the spectrogram into RGBA pixels, time left to right, frequency bottom to top on a
 * logarithmic axis (musical content sits low; a linear axis would squash it into a few rows).
 */
export function renderSpectrogram(spectrogram: Spectrogram, width: number, height: number, options: DrawOptions = {}): Uint8ClampedArray {
  const rangeDb = options.rangeDb ?? 90;
  const nyquist = spectrogram.sampleRate / 2;
  const minFrequency = Math.min(options.minFrequency ?? 30, nyquist / 2);
  let maxDb = -Infinity;
  for (const value of spectrogram.db) if (value > maxDb) maxDb = value;
  const floorDb = maxDb - rangeDb;

  const rowBins = new Int32Array(height);
  for (let y = 0; y < height; y++) {
    const fraction = 1 - y / Math.max(1, height - 1);
    const frequency = minFrequency * Math.pow(nyquist / minFrequency, fraction);
    rowBins[y] = Math.min(spectrogram.bins - 1, Math.round((frequency / nyquist) * (spectrogram.bins - 1)));
  }

  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let x = 0; x < width; x++) {
    const column = Math.min(spectrogram.columns - 1, Math.floor((x / width) * spectrogram.columns));
    for (let y = 0; y < height; y++) {
      const value = spectrogram.db[column * spectrogram.bins + rowBins[y]!]!;
      const level = Math.min(1, Math.max(0, (value - floorDb) / rangeDb));
      const [r, g, b] = colormap(level);
      const offset = (y * width + x) * 4;
      pixels[offset] = r;
      pixels[offset + 1] = g;
      pixels[offset + 2] = b;
      pixels[offset + 3] = 255;
    }
  }
  return pixels;
}

// Black → indigo → magenta → orange → pale yellow, an "inferno"-like ramp readable in greyscale.
const STOPS: Array<[number, number, number]> = [
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
];

function colormap(level: number): [number, number, number] {
  const position = level * (STOPS.length - 1);
  const index = Math.min(STOPS.length - 2, Math.floor(position));
  const t = position - index;
  const a = STOPS[index]!;
  const b = STOPS[index + 1]!;
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function hannWindow(size: number): Float64Array {
  const window = new Float64Array(size);
  for (let i = 0; i < size; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size);
  return window;
}

/** Iterative radix-2 Cooley–Tukey FFT; `re.length` must be a power of two. */
export function fftInPlace(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const angle = (-2 * Math.PI) / size;
    const stepRe = Math.cos(angle);
    const stepIm = Math.sin(angle);
    for (let start = 0; start < n; start += size) {
      let wRe = 1;
      let wIm = 0;
      for (let k = 0; k < half; k++) {
        const evenIndex = start + k;
        const oddIndex = evenIndex + half;
        const oddRe = re[oddIndex]! * wRe - im[oddIndex]! * wIm;
        const oddIm = re[oddIndex]! * wIm + im[oddIndex]! * wRe;
        re[oddIndex] = re[evenIndex]! - oddRe;
        im[oddIndex] = im[evenIndex]! - oddIm;
        re[evenIndex]! += oddRe;
        im[evenIndex]! += oddIm;
        const nextRe = wRe * stepRe - wIm * stepIm;
        wIm = wRe * stepIm + wIm * stepRe;
        wRe = nextRe;
      }
    }
  }
}
