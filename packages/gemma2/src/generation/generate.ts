import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';
import {
  applyRepetitionPenalty,
  argmax,
  type SamplingOptions,
  sampleCandidate,
  warpLogits,
} from './logits-processors.js';
import { SeededRandom } from './prng.js';
import type { StepModel } from './step-model.js';

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate per row. */
  maxNewTokens: number;
  /** A row ends when it produces one of these (taken from the model's generation_config). */
  eosTokenIds: readonly number[];
  /** Token fed to rows that already ended while others go on. */
  padTokenId: number;
  /** Sample (with temperature/top-k/top-p/min-p) instead of greedy decoding. */
  doSample?: boolean;
  /** Seed of the sampling PRNG; the same seed gives the same tokens. */
  seed?: number;
  /** The prompt ids of each row, which the repetition penalty counts as seen. */
  promptIds?: readonly (readonly number[])[];
  /** Called after each token of a row; returning true ends that row (stop strings). */
  shouldStop?: (row: number, generated: readonly number[]) => boolean;
  signal?: AbortSignal;
}

export interface GeneratedToken {
  row: number;
  token: number;
  /** 0-based position among the row's generated tokens. */
  index: number;
  /** Why the row ended with this token, if it did. */
  finish?: FinishReason;
}

export type FinishReason = 'eos' | 'stop' | 'length';

/**
 * Greedy or sampled decoding over a StepModel, yielding each row's tokens as they come. Rows that
 * ended are fed `padTokenId` until every row has ended, as HF does.
 */
export async function* generateTokens(
  model: StepModel,
  options: GenerateOptions,
): AsyncGenerator<GeneratedToken, void, undefined> {
  validate(options);
  const { signal, maxNewTokens } = options;
  const eos = new Set(options.eosTokenIds);
  const rng = new SeededRandom(options.seed ?? 0);
  throwIfAborted(signal, 'generation');
  let logits = await model.prefill(signal);
  const rows = logits.length;
  const generated: number[][] = Array.from({ length: rows }, () => []);
  const done: boolean[] = new Array(rows).fill(false);
  for (let index = 0; index < maxNewTokens; index++) {
    throwIfAborted(signal, 'generation');
    const next = new Int32Array(rows);
    for (let row = 0; row < rows; row++) {
      if (done[row]) {
        next[row] = options.padTokenId;
        continue;
      }
      const token = pickToken(logits[row]!, row, generated[row]!, options, rng);
      next[row] = token;
      generated[row]!.push(token);
      let finish: FinishReason | undefined;
      if (eos.has(token)) finish = 'eos';
      else if (options.shouldStop?.(row, generated[row]!)) finish = 'stop';
      else if (index === maxNewTokens - 1) finish = 'length';
      if (finish) done[row] = true;
      yield finish ? { row, token, index, finish } : { row, token, index };
    }
    if (done.every(Boolean)) return;
    logits = await model.step(next, signal);
  }
}

function pickToken(
  rowLogits: Float32Array,
  row: number,
  generated: readonly number[],
  options: GenerateOptions,
  rng: SeededRandom,
): number {
  let logits = rowLogits;
  const penalty = options.repetitionPenalty ?? 1;
  if (penalty !== 1) {
    logits = Float32Array.from(rowLogits);
    applyRepetitionPenalty(logits, [...(options.promptIds?.[row] ?? []), ...generated], penalty);
  }
  if (!options.doSample) return argmax(logits);
  return sampleCandidate(warpLogits(logits, options), rng.nextFloat());
}

function validate(options: GenerateOptions): void {
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 1) {
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `maxNewTokens must be a positive integer, got ${options.maxNewTokens}`,
    );
  }
  if (options.doSample && options.temperature !== undefined && !(options.temperature > 0)) {
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `temperature must be > 0 when sampling, got ${options.temperature}`,
      {
        hint: 'Use greedy decoding (no doSample) for temperature 0',
      },
    );
  }
}
