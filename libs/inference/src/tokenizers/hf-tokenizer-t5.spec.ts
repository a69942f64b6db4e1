/**
 * A T5 tokenizer.json (Unigram, Precompiled nmt_nfkc normalizer, WhitespaceSplit + Metaspace, `</s>` appended) gives
 * the ids Hugging Face's T5 tokenizer gives with `padding="max_length", truncation=True`. The expected ids come from
 * SentencePiece itself on the fixture's spiece.model (models/importer/make_tokenizer_t5.py), the model the
 * tokenizer.json was converted from; the prompts include graphemes of several characters and the characters where
 * the library's NFKC stand-in for the Precompiled normalizer differed from the charsmap.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../errors';
import { HfTokenizer } from './hf-tokenizer';

const IMPORTER = path.resolve(__dirname, '../../../../models/importer');
const TOKENIZER_FILE = path.join(IMPORTER, 'fixtures/t5-tiny/tokenizer.json');

interface TokenCase {
  prompt: string;
  encodings: Record<string, { input_ids: number[]; attention_mask: number[] }>;
}
const golden = JSON.parse(readFileSync(path.join(IMPORTER, 'golden/t5-tiny-tokens.json'), 'utf8')) as { cases: TokenCase[] };
const rows = golden.cases.flatMap((c) => Object.entries(c.encodings).map(([maxLength, e]) => [c.prompt, Number(maxLength), e] as const));
const ints = (a: BigInt64Array) => Array.from(a, Number);

describe('HfTokenizer on a T5 tokenizer.json', () => {
  it.each(rows)('encodes %j at max_length %i as SentencePiece pieces + </s>, truncated and padded with 0', async (prompt, maxLength, e) => {
    const tokenizer = await HfTokenizer.load(TOKENIZER_FILE, maxLength);
    const { ids, mask } = tokenizer.encode(prompt);
    expect(ints(ids)).toEqual(e.input_ids);
    expect(ints(mask)).toEqual(e.attention_mask);
  });

  it('refuses a tokenizer.json whose precompiled_charsmap is cut short, naming the file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'chorus-t5-tok-'));
    try {
      const json = JSON.parse(readFileSync(TOKENIZER_FILE, 'utf8'));
      json.normalizer.precompiled_charsmap = Buffer.from(json.normalizer.precompiled_charsmap, 'base64').subarray(0, 64).toString('base64');
      const file = path.join(dir, 'tokenizer.json');
      await writeFile(file, JSON.stringify(json));
      const load = HfTokenizer.load(file, 16);
      await expect(load).rejects.toThrow(ModelLoadError);
      await expect(load).rejects.toThrow(/tokenizer\.json: not a usable tokenizer\.json \(precompiled_charsmap: bad trie size/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
