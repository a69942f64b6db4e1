import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadError } from '../errors';
import { HfTokenizer } from './hf-tokenizer';

const special = (id: number, content: string) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
});

/** A tiny BERT-style WordPiece tokenizer.json: [CLS] words [SEP], lowercased, [PAD] = 0. */
const TOKENIZER_JSON = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [special(0, '[PAD]'), special(1, '[UNK]'), special(2, '[CLS]'), special(3, '[SEP]')],
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
    pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: {
      '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
      '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
    },
  },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: {
    type: 'WordPiece',
    unk_token: '[UNK]',
    continuing_subword_prefix: '##',
    max_input_chars_per_word: 100,
    vocab: { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, warm: 4, pad: 5, analog: 6, '##s': 7, in: 8, c: 9, minor: 10 },
  },
};

const ints = (a: BigInt64Array) => Array.from(a, Number);

describe('HfTokenizer', () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chorus-hf-'));
    file = path.join(dir, 'tokenizer.json');
    await writeFile(file, JSON.stringify(TOKENIZER_JSON));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('encodes with the tokenizer.json model and pads to max_length with the pad id', async () => {
    const tokenizer = await HfTokenizer.load(file, 10);
    const { ids, mask, numbers } = tokenizer.encode('Warm analog pads in C minor');
    expect(ints(ids)).toEqual([2, 4, 6, 5, 7, 8, 9, 10, 3, 0]);
    expect(ints(mask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    expect(numbers).toBeUndefined();
  });

  it('truncates to max_length and keeps the closing special token', async () => {
    const tokenizer = await HfTokenizer.load(file, 5);
    expect(ints(tokenizer.encode('warm analog pads in c minor').ids)).toEqual([2, 4, 6, 5, 3]);
  });

  it('names the file when it is missing or not JSON', async () => {
    await expect(HfTokenizer.load(path.join(dir, 'nope.json'), 8)).rejects.toThrow(ModelLoadError);
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '{ not json');
    await expect(HfTokenizer.load(bad, 8)).rejects.toThrow(/bad\.json: not valid JSON/);
  });
});
