/**
 * Cross-attention and global conditioning for a batch, as docs/model-contract.md ("Conditioning") lays it out:
 * rows 0..N−1 are the conditional branch (prompt features then the two timing tokens), rows N..2N−1 the
 * unconditional one (the negative prompt's features, or no text at all: zero features and zero mask),
 * with the same timing tokens and global conditioning. Text features come from a cache, so a prompt
 * repeated across requests is encoded once.
 */

/** The text encoder's output for one prompt: features [T, D] and its mask [T] (1 keep, 0 padding). */
export interface TextFeatures {
  features: Float32Array;
  mask: Float32Array;
}

export interface ItemConditioning {
  text: TextFeatures;
  /** Replaces "no text" in the unconditional branch. */
  negativeText?: TextFeatures;
  /** The timing graph's two tokens for this item, [2, D]. */
  timingTokens: Float32Array;
  /** The timing graph's global vector for this item, [G]. */
  globalCond: Float32Array;
}

export interface BatchConditioning {
  rows: number;
  tokens: number;
  /** [2N, T+2, D] */
  crossAttnCond: Float32Array;
  /** [2N, T+2] */
  crossAttnMask: Float32Array;
  /** [2N, G] */
  globalCond: Float32Array;
}

export const TIMING_TOKENS = 2;

export function buildBatchConditioning(items: ItemConditioning[], textLength: number, dim: number, globalDim: number): BatchConditioning {
  const n = items.length;
  const rows = 2 * n;
  const tokens = textLength + TIMING_TOKENS;
  const crossAttnCond = new Float32Array(rows * tokens * dim);
  const crossAttnMask = new Float32Array(rows * tokens);
  const globalCond = new Float32Array(rows * globalDim);

  const writeRow = (row: number, text: TextFeatures | undefined, item: ItemConditioning) => {
    const condAt = row * tokens * dim;
    const maskAt = row * tokens;
    if (text) {
      crossAttnCond.set(text.features, condAt);
      crossAttnMask.set(text.mask, maskAt);
    } // else: no text, left as zero features and zero mask
    crossAttnCond.set(item.timingTokens, condAt + textLength * dim);
    crossAttnMask.fill(1, maskAt + textLength, maskAt + tokens);
    globalCond.set(item.globalCond, row * globalDim);
  };
  items.forEach((item, i) => {
    writeRow(i, item.text, item);
    writeRow(n + i, item.negativeText, item);
  });
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
