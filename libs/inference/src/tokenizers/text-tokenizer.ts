/** A prompt as the text encoder takes it: fixed-length ids and mask (int64), and optional numeric features. */
export interface TokenizedText {
  ids: BigInt64Array;
  mask: BigInt64Array;
  /** Per-token numeric value (docs/model-contract.md, "Tokenizer"), when the model reads numbers. */
  numbers?: Float32Array;
}

export interface TextTokenizer {
  /** Every encoding has exactly this many positions (padded or truncated). */
  readonly maxLength: number;
  encode(prompt: string): TokenizedText;
}
