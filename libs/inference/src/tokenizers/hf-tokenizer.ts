/**
 * Hugging Face `tokenizer.json` (T5, CLAP/RoBERTa exports) through @huggingface/tokenizers, padded and
 * truncated to the manifest's max_length the way `tokenizer(..., padding="max_length", truncation=True)` does.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelLoadError } from '../errors';
import { PrecompiledNormalizer } from './precompiled-normalizer';
import type { TextTokenizer, TokenizedText } from './text-tokenizer';

interface NormalizerJson {
  type: string;
  precompiled_charsmap?: string;
  normalizers?: NormalizerJson[];
}

interface TokenizerJson {
  padding?: { pad_id?: number } | null;
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  normalizer?: NormalizerJson | null;
}

export class HfTokenizer implements TextTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly maxLength: number,
    private readonly padId: number,
    private readonly specialIds: ReadonlySet<number>,
    private readonly precompiled: PrecompiledNormalizer | null,
  ) {}

  /** Reads `file` (and a `tokenizer_config.json` beside it, if any). */
  static async load(file: string, maxLength: number): Promise<HfTokenizer> {
    const json = (await readJson<TokenizerJson>(file, true)) as TokenizerJson;
    const config = (await readJson<Record<string, unknown>>(path.join(path.dirname(file), 'tokenizer_config.json'), false)) ?? {};
    let tokenizer: Tokenizer;
    let precompiled: PrecompiledNormalizer | null;
    try {
      const split = splitPrecompiled(json.normalizer);
      precompiled = split.charsmap === undefined ? null : new PrecompiledNormalizer(split.charsmap);
      tokenizer = new Tokenizer({ ...json, normalizer: split.rest }, config);
    } catch (error) {
      throw new ModelLoadError(`${file}: not a usable tokenizer.json (${(error as Error).message})`, file);
    }
    const padToken = typeof config.pad_token === 'string' ? config.pad_token : undefined;
    const padId =
      json.padding?.pad_id ??
      (padToken !== undefined ? tokenizer.token_to_id(padToken) : undefined) ??
      tokenizer.token_to_id('<pad>') ??
      tokenizer.token_to_id('[PAD]') ??
      0;
    const specialIds = new Set((json.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));
    return new HfTokenizer(tokenizer, maxLength, padId, specialIds, precompiled);
  }

  encode(prompt: string): TokenizedText {
    const text = this.precompiled ? this.precompiled.normalize(prompt) : prompt;
    let tokenIds: number[] = this.tokenizer.encode(text).ids;
    if (tokenIds.length > this.maxLength) {
      // Keep the closing special token (</s>, [SEP]) the way truncation before post-processing does.
      const last = tokenIds[tokenIds.length - 1];
      tokenIds = this.specialIds.has(last) ? [...tokenIds.slice(0, this.maxLength - 1), last] : tokenIds.slice(0, this.maxLength);
    }
    const ids = new BigInt64Array(this.maxLength).fill(BigInt(this.padId));
    const mask = new BigInt64Array(this.maxLength);
    tokenIds.forEach((id, i) => {
      ids[i] = BigInt(id);
      mask[i] = 1n;
    });
    return { ids, mask };
  }
}

/**
 * A leading `Precompiled` normalizer (alone, or first of a Sequence) is applied by PrecompiledNormalizer before the
 * library sees the text; the library keeps the rest. Normalizing first is what the pipeline does anyway.
 */
function splitPrecompiled(normalizer: NormalizerJson | null | undefined): { charsmap?: string; rest: NormalizerJson | null } {
  if (!normalizer) return { rest: null };
  if (normalizer.type === 'Precompiled' && normalizer.precompiled_charsmap) {
    return { charsmap: normalizer.precompiled_charsmap, rest: null };
  }
  const [first, ...others] = normalizer.type === 'Sequence' ? (normalizer.normalizers ?? []) : [];
  if (first?.type === 'Precompiled' && first.precompiled_charsmap) {
    return { charsmap: first.precompiled_charsmap, rest: others.length ? { ...normalizer, normalizers: others } : null };
  }
  return { rest: normalizer };
}

async function readJson<T>(file: string, required: boolean): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    if (!required) return undefined;
    throw new ModelLoadError(`${file}: missing`, file);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new ModelLoadError(`${file}: not valid JSON (${(error as Error).message})`, file);
  }
}
