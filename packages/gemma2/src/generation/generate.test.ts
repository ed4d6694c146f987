import { isPaliError } from '@pali/errors';
import { describe, expect, it } from 'vitest';
import { fromProbs, MarkovModel } from './fake-model.test-helper.js';
import type { GeneratedToken } from './generate.js';
import { generateTokens } from './generate.js';

// Vocabulary: 0 pad, 1 eos, 2..5 words. Greedy chain from 2: 2 -> 3 -> 4 -> 1 (eos).
const CHAIN: Record<number, number[]> = {
  0: [0.1, 0.1, 0.5, 0.1, 0.1, 0.1],
  1: [0.1, 0.5, 0.1, 0.1, 0.1, 0.1],
  2: [0, 0.05, 0.05, 0.6, 0.2, 0.1],
  3: [0, 0.1, 0.1, 0.1, 0.6, 0.1],
  4: [0, 0.7, 0.1, 0.1, 0.05, 0.05],
  5: [0, 0.1, 0.1, 0.1, 0.1, 0.6],
};
const table = (last: number) => fromProbs(CHAIN[last]!);

async function collect(it: AsyncIterable<GeneratedToken>): Promise<GeneratedToken[]> {
  const out: GeneratedToken[] = [];
  for await (const t of it) out.push(t);
  return out;
}

describe('generateTokens', () => {
  it('greedy follows the argmax chain and stops at eos', async () => {
    const model = new MarkovModel(table, [2]);
    const out = await collect(generateTokens(model, { maxNewTokens: 10, eosTokenIds: [1], padTokenId: 0 }));
    expect(out.map((t) => t.token)).toEqual([3, 4, 1]);
    expect(out.at(-1)?.finish).toBe('eos');
    expect(model.calls).toEqual(['prefill', 'step 3', 'step 4']);
  });

  it('ends rows independently and feeds ended rows the pad token', async () => {
    const model = new MarkovModel(table, [2, 5]);
    const out = await collect(generateTokens(model, { maxNewTokens: 4, eosTokenIds: [1], padTokenId: 0 }));
    expect(out.filter((t) => t.row === 0).map((t) => t.token)).toEqual([3, 4, 1]);
    expect(out.filter((t) => t.row === 1).map((t) => t.token)).toEqual([5, 5, 5, 5]);
    expect(out.filter((t) => t.row === 1).at(-1)?.finish).toBe('length');
    expect(model.calls).toEqual(['prefill', 'step 3,5', 'step 4,5', 'step 1,5']);
  });

  it('stops a row when shouldStop says so (stop strings)', async () => {
    const model = new MarkovModel(table, [2]);
    const out = await collect(
      generateTokens(model, {
        maxNewTokens: 10,
        eosTokenIds: [1],
        padTokenId: 0,
        shouldStop: (_row, generated) => generated.includes(4),
      }),
    );
    expect(out.map((t) => [t.token, t.finish])).toEqual([
      [3, undefined],
      [4, 'stop'],
    ]);
  });

  it('a repetition penalty steers greedy away from seen tokens', async () => {
    const model = new MarkovModel(table, [5]);
    const plain = await collect(generateTokens(model, { maxNewTokens: 3, eosTokenIds: [1], padTokenId: 0 }));
    expect(plain.map((t) => t.token)).toEqual([5, 5, 5]);
    const penalised = await collect(
      generateTokens(new MarkovModel(table, [5]), {
        maxNewTokens: 1,
        eosTokenIds: [1],
        padTokenId: 0,
        repetitionPenalty: 10,
        promptIds: [[5]],
      }),
    );
    // log(0.6)*10 = -5.1 < log(0.1) = -2.3: another token wins (the first of the ties, 1 = eos).
    expect(penalised.map((t) => t.token)).toEqual([1]);
  });

  it('seeded sampling is reproducible and different seeds differ', async () => {
    const run = async (seed: number) =>
      (
        await collect(
          generateTokens(new MarkovModel(() => fromProbs([0, 0, 0.25, 0.25, 0.25, 0.25]), [2]), {
            maxNewTokens: 20,
            eosTokenIds: [1],
            padTokenId: 0,
            doSample: true,
            seed,
          }),
        )
      ).map((t) => t.token);
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(2);
    expect(a.every((t) => t >= 2)).toBe(true);
  });

  it('an aborted signal ends generation with ABORTED', async () => {
    const controller = new AbortController();
    const model = new MarkovModel(table, [5]);
    const tokens: number[] = [];
    await expect(async () => {
      for await (const t of generateTokens(model, {
        maxNewTokens: 100,
        eosTokenIds: [1],
        padTokenId: 0,
        signal: controller.signal,
      })) {
        tokens.push(t.token);
        if (tokens.length === 3) controller.abort();
      }
    }).rejects.toSatisfy((e) => isPaliError(e, 'ABORTED'));
    expect(tokens).toHaveLength(3);
  });

  it('rejects a non-positive maxNewTokens with INVALID_ARGUMENT', async () => {
    await expect(
      collect(
        generateTokens(new MarkovModel(table, [2]), { maxNewTokens: 0, eosTokenIds: [1], padTokenId: 0 }),
      ),
    ).rejects.toSatisfy((e) => isPaliError(e, 'INVALID_ARGUMENT'));
  });
});
