import { describe, expect, it } from 'vitest';
import { beamSearch } from './beam-search.js';
import { fromProbs, MarkovModel } from './fake-model.test-helper.js';

// A trap for greedy: from the start token 9, token 2 looks best (0.5) but leads to a flat
// distribution; token 3 (0.4) leads to a near-certain eos.
const PROBS: Record<number, number[]> = {
  9: [0, 0.1, 0.5, 0.4, 0, 0, 0, 0, 0, 0],
  2: [0, 0.2, 0, 0, 0.2, 0.2, 0.2, 0.2, 0, 0],
  3: [0, 0.95, 0, 0, 0.05, 0, 0, 0, 0, 0],
  4: [0, 0.9, 0, 0, 0.1, 0, 0, 0, 0, 0],
  5: [0, 0.9, 0, 0, 0, 0.1, 0, 0, 0, 0],
  6: [0, 0.9, 0, 0, 0, 0, 0.1, 0, 0, 0],
  7: [0, 0.9, 0, 0, 0, 0, 0, 0.1, 0, 0],
};
const table = (last: number) => fromProbs(PROBS[last] ?? [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);

describe('beamSearch', () => {
  it('with one beam equals greedy', async () => {
    const [best] = await beamSearch(new MarkovModel(table, [9]), {
      numBeams: 1,
      maxNewTokens: 5,
      eosTokenIds: [1],
    });
    expect(best!.tokens).toEqual([2, 1]);
  });

  it('finds the sequence greedy misses, scored by sum of log-probabilities / length', async () => {
    const model = new MarkovModel(table, [9]);
    const hyps = await beamSearch(model, { numBeams: 2, maxNewTokens: 5, eosTokenIds: [1] });
    expect(hyps[0]!.tokens).toEqual([3, 1]);
    expect(hyps[0]!.logprob).toBeCloseTo(Math.log(0.4) + Math.log(0.95), 5);
    expect(hyps[0]!.score).toBeCloseTo(hyps[0]!.logprob / 2, 5);
    // The immediate eos (0.1) is among the top 2 at step 1? No: 0.5 and 0.4 are; so it is not a hypothesis.
    expect(hyps.map((h) => h.tokens)).toEqual([
      [3, 1],
      [2, 1],
    ]);
    expect(model.calls[0]).toBe('prefill');
    expect(model.calls[1]).toBe('reorder 0,0');
  });

  it('a length penalty of 0 ranks by total log-probability; a large one favours long hypotheses', async () => {
    const short = await beamSearch(new MarkovModel(table, [9]), {
      numBeams: 3,
      maxNewTokens: 4,
      eosTokenIds: [1],
      lengthPenalty: 0,
      earlyStopping: true,
    });
    expect(short[0]!.tokens).toEqual([3, 1]);
    const long = await beamSearch(new MarkovModel(table, [9]), {
      numBeams: 3,
      maxNewTokens: 4,
      eosTokenIds: [1],
      lengthPenalty: 5,
    });
    expect(long[0]!.tokens.length).toBeGreaterThan(2);
  });

  it('ends every beam at maxNewTokens as a hypothesis', async () => {
    const loop = () => fromProbs([0, 0.01, 0.99, 0, 0, 0, 0, 0, 0, 0]);
    const hyps = await beamSearch(new MarkovModel(loop, [2]), {
      numBeams: 2,
      maxNewTokens: 3,
      eosTokenIds: [1],
    });
    expect(hyps[0]!.tokens).toEqual([2, 2, 2]);
  });
});
