import { describe, expect, it } from 'vitest';
import { ByteTokenizer } from './byte-tokenizer';

const ints = (a: BigInt64Array) => Array.from(a, Number);

describe('ByteTokenizer', () => {
  it('maps each UTF-8 byte to byte + 1, pads with 0 and masks the padding', () => {
    const { ids, mask, numbers } = new ByteTokenizer(6, false).encode('ab');
    expect(ints(ids)).toEqual([0x61 + 1, 0x62 + 1, 0, 0, 0, 0]);
    expect(ints(mask)).toEqual([1, 1, 0, 0, 0, 0]);
    expect(numbers).toBeUndefined();
  });

  it('lowercases A–Z only, leaving other letters as their UTF-8 bytes', () => {
    const tokenizer = new ByteTokenizer(8, false);
    expect(tokenizer.encode('PAD')).toEqual(tokenizer.encode('pad'));
    const accented = ints(tokenizer.encode('É').ids).slice(0, 2);
    expect(accented).toEqual([0xc3 + 1, 0x89 + 1]); // É stays É (U+00C9), not é
  });

  it('truncates to max_length bytes', () => {
    const { ids, mask } = new ByteTokenizer(4, false).encode('a warm pad');
    expect(ints(ids)).toEqual(Array.from(Buffer.from('a wa'), (b) => b + 1));
    expect(ints(mask)).toEqual([1, 1, 1, 1]);
  });

  it('gives every byte of a number that number as its numeric feature (the contract example)', () => {
    const { numbers } = new ByteTokenizer(6, true).encode('440 Hz');
    expect(Array.from(numbers!)).toEqual([440, 440, 440, 0, 0, 0]);
  });

  it('reads decimals, and a dot with no digit after it ends the number', () => {
    const { numbers } = new ByteTokenizer(16, true).encode('at 92.5 bpm, 3. ');
    expect(Array.from(numbers!.subarray(0, 16))).toEqual([0, 0, 0, 92.5, 92.5, 92.5, 92.5, 0, 0, 0, 0, 0, 0, 3, 0, 0]);
  });

  it('splits 1.2.3 into the maximal matches 1.2 and 3, like a left-to-right regex scan', () => {
    const { numbers } = new ByteTokenizer(5, true).encode('1.2.3');
    expect(Array.from(numbers!)).toEqual([1.2, 1.2, 1.2, 0, 3].map(Math.fround));
  });

  it('parses a number cut by truncation from the bytes that remain', () => {
    const { numbers } = new ByteTokenizer(4, true).encode('a 12345');
    expect(Array.from(numbers!)).toEqual([0, 0, 12, 12]);
  });
});
