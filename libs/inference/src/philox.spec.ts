import { describe, expect, it } from 'vitest';
import { PHILOX_KEY_TAG, fillNormals, normals, philox4x32 } from './philox';

const hex = (words: Uint32Array) => Array.from(words, (w) => w.toString(16).padStart(8, '0')).join(' ');

describe('philox4x32-10', () => {
  // Known-answer vectors from Random123's kat_vectors (philox4x32 10 …).
  it.each([
    [[0, 0, 0, 0], [0, 0], '6627e8d5 e169c58d bc57ac4c 9b00dbd8'],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], '408f276d 41c83b0e a20bc7c6 6d5451fd'],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], 'd16cfe09 94fdcceb 5001e420 24126ea1'],
  ])('matches the Random123 known answer for counter %j, key %j', (counter, key, expected) => {
    expect(hex(philox4x32(counter, key))).toBe(expected);
  });
});

describe('normals', () => {
  it('fills each block from the Box–Muller pairs (w0, w1) and (w2, w3) of counter [j, 0, stream, 0]', () => {
    const seed = 1234;
    const stream = 3;
    const got = normals(seed, stream, 8);
    for (let j = 0; j < 2; j++) {
      const w = philox4x32([j, 0, stream, 0], [seed, PHILOX_KEY_TAG]);
      for (const [a, b, at] of [[0, 1, 0], [2, 3, 2]] as const) {
        const r = Math.sqrt(-2 * Math.log((w[a] + 1) / 2 ** 32));
        const angle = (2 * Math.PI * w[b]) / 2 ** 32;
        expect(got[4 * j + at]).toBe(Math.fround(r * Math.cos(angle)));
        expect(got[4 * j + at + 1]).toBe(Math.fround(r * Math.sin(angle)));
      }
    }
  });

  it('gives the same numbers for the same seed and stream, and a prefix for a shorter tensor', () => {
    const long = normals(7, 0, 1001);
    expect(normals(7, 0, 1001)).toEqual(long);
    expect(normals(7, 0, 13)).toEqual(long.subarray(0, 13));
  });

  it('gives independent numbers for another seed or another stream', () => {
    const a = normals(7, 0, 4096);
    for (const other of [normals(8, 0, 4096), normals(7, 1, 4096)]) {
      let dot = 0;
      for (let i = 0; i < a.length; i++) dot += a[i] * other[i];
      expect(Math.abs(dot / a.length)).toBeLessThan(0.06); // correlation ≈ 0 (4 standard errors)
    }
  });

  it('is standard normal: mean 0, variance 1', () => {
    const z = normals(99, 0, 200_000);
    let sum = 0;
    let sumSq = 0;
    for (const v of z) {
      sum += v;
      sumSq += v * v;
    }
    const mean = sum / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(sumSq / z.length - mean * mean - 1)).toBeLessThan(0.015);
  });

  it('refuses a seed that is not a uint32', () => {
    expect(() => fillNormals(-1, 0, new Float32Array(4))).toThrow(RangeError);
    expect(() => fillNormals(2 ** 32, 0, new Float32Array(4))).toThrow(RangeError);
    expect(() => fillNormals(1.5, 0, new Float32Array(4))).toThrow(RangeError);
  });
});
