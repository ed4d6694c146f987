/**
 * What generation needs from a decoder: last-position logits for every row after the prompt, then
 * after each new token. Rows are batch entries or beams; the decoder keeps their KV caches.
 */
export interface StepModel {
  /** Vocabulary size (length of each logits row). */
  readonly vocabSize: number;
  /** Runs the prompt; returns one logits row per sequence (last position only). */
  prefill(signal?: AbortSignal): Promise<Float32Array[]>;
  /** Appends one token to every row; returns the next logits of every row. */
  step(tokens: Int32Array, signal?: AbortSignal): Promise<Float32Array[]>;
  /**
   * Beam search: keep the rows' caches in this order (a row may be repeated or dropped). The number
   * of rows may change (prefill of one prompt, then num_beams beams).
   */
  reorder?(rows: Int32Array): Promise<void> | void;
}
