/**
 * The `Precompiled` normalizer of a SentencePiece-converted tokenizer.json (T5, mT5, XLM-R, …), applied exactly.
 *
 * @huggingface/tokenizers 0.2 approximates it with NFKC plus a few replacements, which differs from the charsmap on
 * some characters (measured on t5's nmt_nfkc map: the zero-width joiner U+200D becomes a space instead of staying,
 * U+0085 vanishes instead of becoming a space, and compatibility characters newer than the map are folded). This
 * reads the charsmap itself the way the Rust `tokenizers` crate does (spm_precompiled): a darts-clone double-array
 * trie over UTF-8 bytes, then NUL-terminated replacement strings; each grapheme shorter than 6 bytes is looked up
 * whole, otherwise (or when absent) each of its characters is.
 */

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
/** Distinct graphemes remembered; prompts are short and mostly ASCII, so this bounds memory, not speed. */
const MAX_CACHED = 50_000;

export class PrecompiledNormalizer {
  private readonly trie: Uint32Array;
  private readonly normalized: Uint8Array;
  private readonly cache = new Map<string, string | null>();

  /** `charsmap`: the tokenizer.json normalizer's `precompiled_charsmap` (base64). */
  constructor(charsmap: string) {
    const blob = Buffer.from(charsmap, 'base64');
    if (blob.length < 4) throw new Error('precompiled_charsmap is shorter than its 4-byte trie size');
    const trieBytes = blob.readUInt32LE(0);
    if (trieBytes % 4 !== 0 || 4 + trieBytes > blob.length) throw new Error(`precompiled_charsmap: bad trie size ${trieBytes}`);
    this.trie = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < this.trie.length; i++) this.trie[i] = blob.readUInt32LE(4 + 4 * i);
    this.normalized = new Uint8Array(blob.subarray(4 + trieBytes));
  }

  normalize(text: string): string {
    let out = '';
    for (const { segment } of segmenter.segment(text)) {
      const whole = utf8.encode(segment).length < 6 ? this.transform(segment) : null;
      if (whole !== null) {
        out += whole;
        continue;
      }
      for (const char of segment) out += this.transform(char) ?? char;
    }
    return out;
  }

  /** The replacement of `chunk` (the first match of a prefix of its bytes, as the Rust crate takes it), or null. */
  private transform(chunk: string): string | null {
    const cached = this.cache.get(chunk);
    if (cached !== undefined) return cached;
    const offset = this.firstPrefixValue(utf8.encode(chunk));
    let result: string | null = null;
    if (offset !== null) {
      let end = offset;
      while (end < this.normalized.length && this.normalized[end] !== 0) end++;
      result = utf8Decoder.decode(this.normalized.subarray(offset, end));
    }
    if (this.cache.size < MAX_CACHED) this.cache.set(chunk, result);
    return result;
  }

  /** darts-clone common-prefix search, stopped at its first hit. */
  private firstPrefixValue(key: Uint8Array): number | null {
    const unitOffset = (unit: number) => (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
    let node = unitOffset(this.trie[0]);
    for (const byte of key) {
      if (byte === 0) break;
      node ^= byte;
      const unit = this.trie[node];
      if (unit === undefined || (unit & ((1 << 31) | 0xff)) >>> 0 !== byte) return null;
      node ^= unitOffset(unit);
      if ((unit >>> 8) & 1) return this.trie[node] & 0x7fffffff;
    }
    return null;
  }
}
