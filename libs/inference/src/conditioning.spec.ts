import { describe, expect, it } from 'vitest';
import { TextFeatureCache, buildBatchConditioning, type ItemConditioning } from './conditioning';

const T = 3; // text tokens
const D = 2; // feature dim
const G = 2; // global dim

function item(tag: number, negative?: number): ItemConditioning {
  const text = (v: number) => ({ features: new Float32Array(T * D).fill(v), mask: Float32Array.from([1, 1, 0]) });
  return {
    text: text(tag),
    ...(negative !== undefined && { negativeText: text(negative) }),
    timingTokens: new Float32Array(2 * D).fill(100 + tag),
    globalCond: new Float32Array(G).fill(200 + tag),
  };
}

const row = (a: Float32Array, r: number, size: number) => Array.from(a.subarray(r * size, (r + 1) * size));

describe('buildBatchConditioning', () => {
  const c = buildBatchConditioning([item(1), item(2, 9)], T, D, G);
  const tokenRow = (T + 2) * D;

  it('puts the cond rows first, then the uncond rows', () => {
    expect(c.rows).toBe(4);
    expect(row(c.crossAttnCond, 0, tokenRow)).toEqual([1, 1, 1, 1, 1, 1, 101, 101, 101, 101]);
    expect(row(c.crossAttnCond, 1, tokenRow)).toEqual([2, 2, 2, 2, 2, 2, 102, 102, 102, 102]);
  });

  it('gives the unconditional branch no text (zero features, zero mask) but the same timing tokens', () => {
    expect(row(c.crossAttnCond, 2, tokenRow)).toEqual([0, 0, 0, 0, 0, 0, 101, 101, 101, 101]);
    expect(row(c.crossAttnMask, 2, T + 2)).toEqual([0, 0, 0, 1, 1]);
  });

  it('uses the negative prompt as the unconditional text when there is one', () => {
    expect(row(c.crossAttnCond, 3, tokenRow)).toEqual([9, 9, 9, 9, 9, 9, 102, 102, 102, 102]);
    expect(row(c.crossAttnMask, 3, T + 2)).toEqual([1, 1, 0, 1, 1]);
  });

  it('appends [1, 1] for the timing tokens to the text mask and never drops the global conditioning', () => {
    expect(row(c.crossAttnMask, 0, T + 2)).toEqual([1, 1, 0, 1, 1]);
    expect([0, 1, 2, 3].map((r) => row(c.globalCond, r, G))).toEqual([[201, 201], [202, 202], [201, 201], [202, 202]]);
  });
});

describe('buildBatchConditioning for stable-audio-tools guidance (zero_all_tokens)', () => {
  it('adds unconditional rows only for the guided items, in item order, after every conditional row', () => {
    const c = buildBatchConditioning([item(1), item(2), item(3, 9)], T, D, G, { uncond: 'zero_all_tokens', guided: [false, true, true] });
    const tokenRow = (T + 2) * D;
    expect(c.rows).toBe(5);
    expect([0, 1, 2].map((r) => row(c.crossAttnCond, r, tokenRow)[0])).toEqual([1, 2, 3]);
    expect(row(c.crossAttnCond, 3, tokenRow)).toEqual(new Array(tokenRow).fill(0)); // item 2: every token zero
    expect(row(c.crossAttnCond, 4, tokenRow)).toEqual([9, 9, 9, 9, 0, 0, 103, 103, 103, 103]); // item 3's negative, padding zeroed
    expect([3, 4].map((r) => row(c.globalCond, r, G))).toEqual([[202, 202], [203, 203]]);
  });

  it('takes the number of timing tokens from their length (one for SAO Small)', () => {
    const one = { ...item(1), timingTokens: new Float32Array(D).fill(101) };
    const c = buildBatchConditioning([one], T, D, G, { uncond: 'zero_all_tokens' });
    expect(c.tokens).toBe(T + 1);
    expect(row(c.crossAttnCond, 0, (T + 1) * D)).toEqual([1, 1, 1, 1, 1, 1, 101, 101]);
  });
});

describe('TextFeatureCache', () => {
  it('evicts the least recently used prompt beyond its capacity', () => {
    const cache = new TextFeatureCache(2);
    const f = { features: new Float32Array(1), mask: new Float32Array(1) };
    cache.set('a', f);
    cache.set('b', f);
    cache.get('a');
    cache.set('c', f);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(f);
    expect(cache.get('c')).toBe(f);
    expect(cache.size).toBe(2);
  });
});
