/**
 * The byte-level tokenizer of docs/model-contract.md: ASCII-lowercased UTF-8 bytes, id = byte + 1,
 * padding id 0; with numeric features, each byte of a decimal number carries the number's value.
 * Mirrors models/training/chorus/tokenizer.py.
 */
import type { TextTokenizer, TokenizedText } from './text-tokenizer';

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const DOT = 0x2e;
const isDigit = (b: number | undefined) => b !== undefined && b >= DIGIT_0 && b <= DIGIT_9;

export class ByteTokenizer implements TextTokenizer {
  constructor(
    readonly maxLength: number,
    private readonly numericFeatures: boolean,
  ) {}

  encode(prompt: string): TokenizedText {
    // Only A–Z are lowered (not toLowerCase, which also folds non-ASCII letters).
    const lowered = prompt.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
    const bytes = Buffer.from(lowered, 'utf8').subarray(0, this.maxLength);
    const ids = new BigInt64Array(this.maxLength);
    const mask = new BigInt64Array(this.maxLength);
    for (let i = 0; i < bytes.length; i++) {
      ids[i] = BigInt(bytes[i] + 1);
      mask[i] = 1n;
    }
    const result: TokenizedText = { ids, mask };
    if (this.numericFeatures) result.numbers = numericFeatures(bytes, this.maxLength);
    return result;
  }
}

/** Every maximal match of `[0-9]+(\.[0-9]+)?`, scanned left to right, gives its value to each of its bytes. */
export function numericFeatures(bytes: Uint8Array, length: number): Float32Array {
  const numbers = new Float32Array(length);
  let i = 0;
  while (i < bytes.length) {
    if (!isDigit(bytes[i])) {
      i++;
      continue;
    }
    let end = i;
    while (isDigit(bytes[end])) end++;
    if (bytes[end] === DOT && isDigit(bytes[end + 1])) {
      end++;
      while (isDigit(bytes[end])) end++;
    }
    const value = Number(Buffer.from(bytes.subarray(i, end)).toString('latin1'));
    numbers.fill(value, i, end);
    i = end;
  }
  return numbers;
}
