import { FIXTURE_MODELS, goldenCases, goldenTensor } from '@pali/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTokens } from '../generation/generate.js';
import { type FixturePipeline, fixturePipeline } from '../test-support/fixture-pipeline.js';

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

describe.each(FIXTURE_MODELS)(
  'Gemma 2 decoder of %s against HF transformers (eager, token_type_ids)',
  (model) => {
    let raw: FixturePipeline;
    let capped: FixturePipeline;
    beforeAll(async () => {
      raw = await fixturePipeline(model, { omitFinalSoftcap: true });
      capped = await fixturePipeline(model);
    });
    afterAll(async () => {
      await raw.release();
      await capped.release();
    });

    for (const c of goldenCases(model)) {
      const tensor = (role: string) => goldenTensor(c.tensors[role]!);
      const promptOf = (p: FixturePipeline) =>
        p.prompt(
          tensor('input_ids').data as Int32Array,
          c.batch_size,
          c.images,
          tensor('attention_mask').data as Int32Array,
          tensor('position_ids').data as Int32Array,
        );

      it(`${c.case}: prefill last-position logits equal HF's (before the soft-cap)`, async () => {
        const runner = raw.newRunner();
        runner.start(await promptOf(raw));
        const rows = await runner.prefill();
        const expected = tensor('logits').data as Float32Array;
        const V = raw.config.textConfig.vocabSize;
        rows.forEach((row, b) => {
          const ref = expected.subarray(b * V, (b + 1) * V);
          const err = maxAbs(row.map((x, i) => x - ref[i]!));
          console.log(
            `[decoder parity] ${model}/${c.case} row ${b}: max abs err ${err.toExponential(2)}, max |logit| ${maxAbs(ref).toFixed(2)}`,
          );
          expect(err).toBeLessThanOrEqual(1e-4 * maxAbs(ref));
          // The prefill is bidirectional: HF without token_type_ids (a causal mask) is far from ours.
          const causal = (tensor('logits_causal').data as Float32Array).subarray(b * V, (b + 1) * V);
          expect(maxAbs(row.map((x, i) => x - causal[i]!))).toBeGreaterThan(100 * err);
        });
        runner.dispose();
      });

      it.each<[string, { sharedCache: boolean; appendNewKeys?: boolean }]>([
        ['copied', { sharedCache: false }],
        ['shared, each step appending its new keys (our folders)', { sharedCache: true }],
        ['shared, written in place through fetched presents', { sharedCache: true, appendNewKeys: false }],
      ])(`${c.case}: greedy generation gives HF's 24 tokens, KV cache %s`, async (_mode, options) => {
        const runner = capped.newRunner(options);
        expect(runner.cacheMode).toBe(
          !options.sharedCache ? 'copy' : options.appendNewKeys === false ? 'shared' : 'append',
        );
        runner.start(await promptOf(capped), 24);
        const expected = tensor('tokens').data as Int32Array;
        const got: number[][] = Array.from({ length: c.batch_size }, () => []);
        for await (const t of generateTokens(runner, { maxNewTokens: 24, eosTokenIds: [], padTokenId: 0 })) {
          got[t.row]!.push(t.token);
        }
        for (let b = 0; b < c.batch_size; b++)
          expect(got[b]).toEqual(Array.from(expected.subarray(b * 24, (b + 1) * 24)));
        runner.dispose();
      });
    }
  },
);
