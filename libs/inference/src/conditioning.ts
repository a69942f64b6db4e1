/**
 * Cross-attention and global conditioning for a batch, as docs/model-contract.md ("Conditioning") lays it out:
 * rows 0..N−1 are the conditional branch (prompt features then the timing tokens); after them come the
 * unconditional rows of the items being guided, with the same global conditioning. What an unconditional row
 * holds depends on `diffusion.uncond`:
 * - `zero_text` (chorus-tiny): no text (zero features, zero mask) and the same timing tokens, or the negative
 *   prompt's features and mask in place of the text;
 * - `zero_all_tokens` (stable-audio-tools): every token zero, timing tokens included, or the negative prompt's
 *   features with their padding zeroed followed by the timing tokens; its mask is the conditional row's, as upstream
 *   batches `[cross_attn_cond_mask, cross_attn_cond_mask]` (and then ignores masks).
 * Text features come from a cache, so a prompt repeated across requests is encoded once.
 */

/** The text encoder's output for one prompt: features [T, D] and its mask [T] (1 keep, 0 padding). */
export interface TextFeatures {
  features: Float32Array;
  mask: Float32Array;
}

export interface ItemConditioning {
  text: TextFeatures;
  /** Replaces the unconditional branch's text. */
  negativeText?: TextFeatures;
  /** The timing graph's tokens for this item, [k, D] (k timing conditioners: 2 for chorus-tiny and SAO 1.0, 1 for SAO Small). */
  timingTokens: Float32Array;
  /** The timing graph's global vector for this item, [G]. */
  globalCond: Float32Array;
}

export type UncondMode = 'zero_text' | 'zero_all_tokens';

export interface BatchConditioning {
  rows: number;
  tokens: number;
  /** [rows, T+k, D] */
  crossAttnCond: Float32Array;
  /** [rows, T+k] */
  crossAttnMask: Float32Array;
  /** [rows, G] */
  globalCond: Float32Array;
}

export interface BatchConditioningOptions {
  uncond?: UncondMode;
  /** Which items get an unconditional row (default: all). */
  guided?: readonly boolean[];
}

export function buildBatchConditioning(
  items: ItemConditioning[],
  textLength: number,
  dim: number,
  globalDim: number,
  { uncond = 'zero_text', guided = items.map(() => true) }: BatchConditioningOptions = {},
): BatchConditioning {
  const n = items.length;
  const uncondItems = items.filter((_, i) => guided[i]);
  const rows = n + uncondItems.length;
  const timingTokens = n > 0 ? items[0].timingTokens.length / dim : 0;
  const tokens = textLength + timingTokens;
  const crossAttnCond = new Float32Array(rows * tokens * dim);
  const crossAttnMask = new Float32Array(rows * tokens);
  const globalCond = new Float32Array(rows * globalDim);

  const writeRow = (row: number, item: ItemConditioning, branch: 'cond' | 'uncond') => {
    const condAt = row * tokens * dim;
    const maskAt = row * tokens;
    const text = branch === 'cond' ? item.text : item.negativeText;
    if (text && branch === 'uncond' && uncond === 'zero_all_tokens') {
      // Upstream: torch.where(negative_cross_attn_mask, negative_cross_attn_cond, null_embed).
      for (let k = 0; k < textLength; k++) {
        if (text.mask[k] !== 0) crossAttnCond.set(text.features.subarray(k * dim, (k + 1) * dim), condAt + k * dim);
      }
    } else if (text) {
      crossAttnCond.set(text.features, condAt);
    } // else: no text, left as zero features
    const zeroTiming = branch === 'uncond' && uncond === 'zero_all_tokens' && !text;
    if (!zeroTiming) crossAttnCond.set(item.timingTokens, condAt + textLength * dim);
    const maskText = branch === 'uncond' && uncond === 'zero_all_tokens' ? item.text : text;
    if (maskText) crossAttnMask.set(maskText.mask, maskAt);
    crossAttnMask.fill(1, maskAt + textLength, maskAt + tokens);
    globalCond.set(item.globalCond, row * globalDim);
  };
  items.forEach((item, i) => writeRow(i, item, 'cond'));
  uncondItems.forEach((item, k) => writeRow(n + k, item, 'uncond'));
  return { rows, tokens, crossAttnCond, crossAttnMask, globalCond };
}

/** A small least-recently-used cache of prompt → text features. */
export class TextFeatureCache {
  private readonly entries = new Map<string, TextFeatures>();
  constructor(private readonly capacity = 64) {}

  get(prompt: string): TextFeatures | undefined {
    const hit = this.entries.get(prompt);
    if (hit) {
      this.entries.delete(prompt);
      this.entries.set(prompt, hit);
    }
    return hit;
  }

  set(prompt: string, features: TextFeatures): void {
    this.entries.delete(prompt);
    this.entries.set(prompt, features);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }
}
