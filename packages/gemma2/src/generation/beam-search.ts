import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';
import { applyRepetitionPenalty } from './logits-processors.js';
import type { StepModel } from './step-model.js';

export interface BeamSearchOptions {
  numBeams: number;
  maxNewTokens: number;
  eosTokenIds: readonly number[];
  /** Score = sum of log-probabilities / generated_length ** lengthPenalty (HF; default 1). */
  lengthPenalty?: number;
  /** true: stop once numBeams hypotheses ended; false (HF default): stop when none can improve. */
  earlyStopping?: boolean;
  repetitionPenalty?: number;
  promptIds?: readonly number[];
  signal?: AbortSignal;
}

export interface BeamHypothesis {
  tokens: number[];
  /** Length-normalised score used for ranking. */
  score: number;
  /** Sum of the tokens' log-probabilities. */
  logprob: number;
}

interface Beam {
  tokens: number[];
  logprob: number;
}

/**
 * Beam search with HF transformers' semantics for one prompt: each step keeps the best numBeams
 * continuations that do not end; continuations that end with eos among the top numBeams become
 * hypotheses; the search ends when numBeams hypotheses exist and no running beam can beat the worst
 * (or at once with earlyStopping), or at maxNewTokens. Returns hypotheses best first.
 */
export async function beamSearch(model: StepModel, options: BeamSearchOptions): Promise<BeamHypothesis[]> {
  const { numBeams, maxNewTokens, signal } = options;
  if (!Number.isInteger(numBeams) || numBeams < 1) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `numBeams must be a positive integer, got ${numBeams}`);
  }
  if (!model.reorder && numBeams > 1) {
    throw new PaliError(
      ERROR_CODES.UNSUPPORTED,
      'This decoder cannot reorder its cache, so it cannot run beam search',
    );
  }
  const lengthPenalty = options.lengthPenalty ?? 1;
  const eos = new Set(options.eosTokenIds);
  const keepPerStep = Math.max(2, 1 + eos.size) * numBeams;
  const finished: BeamHypothesis[] = [];

  throwIfAborted(signal, 'beam search');
  let logits = await model.prefill(signal);
  if (logits.length !== 1) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'Beam search takes one prompt at a time');
  }
  let beams: Beam[] = [{ tokens: [], logprob: 0 }];

  for (let step = 0; step < maxNewTokens; step++) {
    throwIfAborted(signal, 'beam search');
    const genLength = step + 1;
    const lastStep = step === maxNewTokens - 1;
    const candidates = topContinuations(beams, logits, keepPerStep, options);
    const running: { source: number; token: number; logprob: number }[] = [];
    for (let rank = 0; rank < candidates.length; rank++) {
      const c = candidates[rank]!;
      const ends = eos.has(c.token) || lastStep;
      if (ends) {
        // Only the top numBeams continuations may finish (HF's top_num_beam_mask).
        if (rank < numBeams) {
          addHypothesis(finished, numBeams, {
            tokens: [...beams[c.source]!.tokens, c.token],
            logprob: c.logprob,
            score: c.logprob / genLength ** lengthPenalty,
          });
        }
      } else if (running.length < numBeams) {
        running.push(c);
      }
    }
    if (lastStep || running.length === 0) break;
    beams = running.map((c) => ({ tokens: [...beams[c.source]!.tokens, c.token], logprob: c.logprob }));
    if (finished.length === numBeams) {
      if (options.earlyStopping) break;
      const best = beams[0]!.logprob / genLength ** lengthPenalty;
      if (!(best > finished[finished.length - 1]!.score)) break;
    }
    await model.reorder!(Int32Array.from(running, (c) => c.source));
    logits = await model.step(
      Int32Array.from(running, (c) => c.token),
      signal,
    );
  }
  return finished;
}

function addHypothesis(finished: BeamHypothesis[], numBeams: number, hypothesis: BeamHypothesis): void {
  finished.push(hypothesis);
  finished.sort((a, b) => b.score - a.score);
  if (finished.length > numBeams) finished.length = numBeams;
}

/** The best `count` (beam, token) continuations by total log-probability, best first. */
function topContinuations(
  beams: readonly Beam[],
  logits: readonly Float32Array[],
  count: number,
  options: BeamSearchOptions,
): { source: number; token: number; logprob: number }[] {
  const all: { source: number; token: number; logprob: number }[] = [];
  for (let b = 0; b < beams.length; b++) {
    let row = logits[b]!;
    const penalty = options.repetitionPenalty ?? 1;
    if (penalty !== 1) {
      row = Float32Array.from(row);
      applyRepetitionPenalty(row, [...(options.promptIds ?? []), ...beams[b]!.tokens], penalty);
    }
    // log_softmax, then the best `count` tokens of this beam (no beam can contribute more).
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
    let total = 0;
    for (let i = 0; i < row.length; i++) total += Math.exp(row[i]! - max);
    const logZ = max + Math.log(total);
    const best: number[] = [];
    for (let i = 0; i < row.length; i++) {
      if (best.length < count) {
        best.push(i);
        if (best.length === count) best.sort((x, y) => row[y]! - row[x]! || x - y);
      } else if (row[i]! > row[best[count - 1]!]!) {
        let j = count - 1;
        while (j > 0 && row[best[j - 1]!]! < row[i]!) {
          best[j] = best[j - 1]!;
          j--;
        }
        best[j] = i;
      }
    }
    if (best.length < count) best.sort((x, y) => row[y]! - row[x]! || x - y);
    for (const token of best) all.push({ source: b, token, logprob: beams[b]!.logprob + row[token]! - logZ });
  }
  all.sort((x, y) => y.logprob - x.logprob || x.source - y.source || x.token - y.token);
  return all.slice(0, count);
}
