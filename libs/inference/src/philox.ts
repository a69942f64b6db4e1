/**
 * Seeded noise, exactly as docs/model-contract.md ("Noise") specifies, so that a seed reproduces
 * a file bit for bit and the Python reference (models/training/chorus/prng.py) draws the same numbers.
 *
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) is a
 * counter-based generator: block j of stream s is a pure function of (key, counter), so any part
 * of any stream can be drawn in any order, on any thread, with no hidden state.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
/** Second key word: "CHOR". */
export const PHILOX_KEY_TAG = 0x43484f52;
const TWO_POW_32 = 4294967296;

/** High 32 bits of the 64-bit product of two uint32, exact in float64 by splitting into 16-bit halves. */
function mulHi32(a: number, b: number): number {
  const aHi = a >>> 16;
  const aLo = a & 0xffff;
  const bHi = b >>> 16;
  const bLo = b & 0xffff;
  const cross1 = aHi * bLo;
  const cross2 = aLo * bHi;
  const carry = ((aLo * bLo) >>> 16) + (cross1 & 0xffff) + (cross2 & 0xffff);
  return (aHi * bHi + (cross1 >>> 16) + (cross2 >>> 16) + (carry >>> 16)) >>> 0;
}

/** Philox4x32 with 10 rounds on a counter and a key; writes the four output words into `out`. */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>, out: Uint32Array = new Uint32Array(4)): Uint32Array {
  let c0 = counter[0] >>> 0;
  let c1 = counter[1] >>> 0;
  let c2 = counter[2] >>> 0;
  let c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulHi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulHi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/**
 * Fills `out` with standard normals from stream `stream` of generator `seed`, in row-major order:
 * block j (counter [j, 0, stream, 0]) yields four normals by Box–Muller on its word pairs.
 */
export function fillNormals(seed: number, stream: number, out: Float32Array): Float32Array {
  if (!Number.isInteger(seed) || seed < 0 || seed >= TWO_POW_32) throw new RangeError(`seed must be a uint32, got ${seed}`);
  const key = [seed, PHILOX_KEY_TAG];
  const counter = [0, 0, stream >>> 0, 0];
  const words = new Uint32Array(4);
  const block = new Float64Array(4);
  for (let j = 0, i = 0; i < out.length; j++, i += 4) {
    counter[0] = j;
    philox4x32(counter, key, words);
    boxMuller(words[0], words[1], block, 0);
    boxMuller(words[2], words[3], block, 2);
    const n = Math.min(4, out.length - i);
    for (let k = 0; k < n; k++) out[i + k] = block[k];
  }
  return out;
}

/** `n` standard normals (float32) from one stream. */
export function normals(seed: number, stream: number, n: number): Float32Array {
  return fillNormals(seed, stream, new Float32Array(n));
}

function boxMuller(wa: number, wb: number, out: Float64Array, at: number): void {
  // u1 is in (0, 1], so the log is finite.
  const u1 = (wa + 1) / TWO_POW_32;
  const u2 = wb / TWO_POW_32;
  const r = Math.sqrt(-2 * Math.log(u1));
  out[at] = r * Math.cos(2 * Math.PI * u2);
  out[at + 1] = r * Math.sin(2 * Math.PI * u2);
}
