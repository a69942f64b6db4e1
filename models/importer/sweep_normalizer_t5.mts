/**
 * Compares the Precompiled normalization of every code point (sweep_normalizer_t5.py's file) with ours and with
 * @huggingface/tokenizers' built-in stand-in.
 *
 *   npx tsx models/importer/sweep_normalizer_t5.mts models/importer/.t5-out/sweep.json
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { PrecompiledNormalizer } from '../../libs/inference/src/tokenizers/precompiled-normalizer';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Array<[number, string, string]>;
const json = JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures/t5-tiny/tokenizer.json'), 'utf8'));
const ours = new PrecompiledNormalizer(json.normalizer.precompiled_charsmap);
const library = new Tokenizer(json, {}) as unknown as { normalizer: (text: string) => string };
const words = (text: string) => text.split(' ').filter(Boolean).join(' ');
const differ = (normalize: (text: string) => string) =>
  cases.filter(([, text, expected]) => words(normalize(text)) !== expected).map(([cp]) => `U+${cp.toString(16).toUpperCase()}`);
const [oursDiffer, libraryDiffers] = [differ((t) => ours.normalize(t)), differ((t) => library.normalizer(t))];
console.log(`${cases.length} code points; PrecompiledNormalizer differs on ${oursDiffer.length} ${oursDiffer.slice(0, 20).join(' ')}`);
console.log(`@huggingface/tokenizers' stand-in differs on ${libraryDiffers.length}: ${libraryDiffers.slice(0, 20).join(' ')} …`);
