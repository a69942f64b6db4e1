import path from 'node:path';
import type { ModelManifest } from '../manifest';
import { ByteTokenizer } from './byte-tokenizer';
import { HfTokenizer } from './hf-tokenizer';
import type { TextTokenizer } from './text-tokenizer';

export { ByteTokenizer, numericFeatures } from './byte-tokenizer';
export { HfTokenizer } from './hf-tokenizer';
export type { TextTokenizer, TokenizedText } from './text-tokenizer';

/** The tokenizer the manifest names. */
export async function createTokenizer(m: ModelManifest, modelDir: string): Promise<TextTokenizer> {
  switch (m.tokenizer.kind) {
    case 'byte':
      return new ByteTokenizer(m.tokenizer.max_length, m.tokenizer.numeric_features);
    case 'hf':
      return HfTokenizer.load(path.join(path.resolve(modelDir), m.tokenizer.file ?? 'tokenizer.json'), m.tokenizer.max_length);
  }
}
