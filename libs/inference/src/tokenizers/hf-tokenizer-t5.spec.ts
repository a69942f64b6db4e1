/**
 * A T5 tokenizer.json (Unigram, Precompiled nmt_nfkc normalizer, WhitespaceSplit + Metaspace, `</s>` appended) gives
 * the ids Hugging Face's T5 tokenizer gives with `padding="max_length", truncation=True`. The expected ids come from
 * SentencePiece itself on the fixture's spiece.model (models/importer/make_tokenizer_t5.py), the model the
 * tokenizer.json was converted from.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HfTokenizer } from './hf-tokenizer';

const IMPORTER = path.resolve(__dirname, '../../../../models/importer');
const TOKENIZER_FILE = path.join(IMPORTER, 'fixtures/t5-tiny/tokenizer.json');

interface TokenCase {
  prompt: string;
  input_ids: number[];
  attention_mask: number[];
}
const golden = JSON.parse(readFileSync(path.join(IMPORTER, 'golden/t5-tiny-tokens.json'), 'utf8')) as {
  max_length: number;
  cases: TokenCase[];
};
const ints = (a: BigInt64Array) => Array.from(a, Number);

describe('HfTokenizer on a T5 tokenizer.json', () => {
  it.each(golden.cases.map((c) => [c.prompt, c] as const))('encodes %j as SentencePiece + </s>, padded with 0', async (_prompt, c) => {
    const tokenizer = await HfTokenizer.load(TOKENIZER_FILE, golden.max_length);
    const { ids, mask } = tokenizer.encode(c.prompt);
    expect(ints(ids)).toEqual(c.input_ids);
    expect(ints(mask)).toEqual(c.attention_mask);
  });
});
