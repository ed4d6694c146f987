import type { StepModel } from './step-model.js';

/**
 * A Markov-chain "decoder" for tests: the next-token logits depend only on the last token (or on
 * the row's start token before any was generated). Tracks rows like a real KV cache would.
 */
export class MarkovModel implements StepModel {
  readonly vocabSize: number;
  private rows: number[];
  readonly calls: string[] = [];

  constructor(
    private readonly table: (last: number) => Float32Array,
    startTokens: number[],
  ) {
    this.vocabSize = table(startTokens[0]!).length;
    this.rows = [...startTokens];
  }

  async prefill(): Promise<Float32Array[]> {
    this.calls.push('prefill');
    return this.rows.map((t) => this.table(t));
  }

  async step(tokens: Int32Array): Promise<Float32Array[]> {
    this.calls.push(`step ${Array.from(tokens).join(',')}`);
    if (tokens.length !== this.rows.length)
      throw new Error(`step with ${tokens.length} tokens for ${this.rows.length} rows`);
    this.rows = Array.from(tokens);
    return this.rows.map((t) => this.table(t));
  }

  reorder(rows: Int32Array): void {
    this.calls.push(`reorder ${Array.from(rows).join(',')}`);
    this.rows = Array.from(rows, (r) => this.rows[r]!);
  }
}

/** Log-probability table helper: logits from probabilities. */
export function fromProbs(probs: number[]): Float32Array {
  return Float32Array.from(probs, (p) => (p > 0 ? Math.log(p) : -1e9));
}
