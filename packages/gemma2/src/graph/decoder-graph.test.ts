import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_MODELS, fixtureModelDir, goldenCases, goldenTensor, readFixtureJson } from '@pali/fixtures';
import { checkpointWeights, parsePaliGemmaConfig } from '@pali/model-folder';
import { openSafetensors, writeModel } from '@pali/onnx/node';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecoderRunner, type PromptParts } from '../decoder-runner.js';
import { generateTokens } from '../generation/generate.js';
import { type FixturePipeline, fixturePipeline } from '../test-support/fixture-pipeline.js';
import { buildDecoderGraph } from './decoder-graph.js';

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Greedy decoding of 24 tokens from a started runner gives every row's golden (HF) tokens. */
async function expectGoldenTokens(runner: DecoderRunner, expected: Int32Array, batch: number) {
  const got: number[][] = Array.from({ length: batch }, () => []);
  for await (const t of generateTokens(runner, { maxNewTokens: 24, eosTokenIds: [], padTokenId: 0 })) {
    got[t.row]!.push(t.token);
  }
  for (let b = 0; b < batch; b++) expect(got[b]).toEqual(Array.from(expected.subarray(b * 24, (b + 1) * 24)));
}

/** The raw embedding rows of a pipeline's checkpoint (what embed_tokens returns). */
function embedRowsOf(p: FixturePipeline) {
  const H = p.config.textConfig.hiddenSize;
  return async (ids: Int32Array) => {
    const out = new Float32Array(ids.length * H);
    ids.forEach((id, i) => {
      out.set(p.embedding.subarray(id * H, (id + 1) * H), i * H);
    });
    return out;
  };
}

/**
 * The fp32 decoder cut into parts of `per` layers, each run as a session opened for its run and
 * released after it (as the loaders do); `opened` counts the sessions.
 */
async function promptParts(model: string, per: number) {
  const dir = mkdtempSync(join(tmpdir(), `pali-parts-${model}-`));
  const config = parsePaliGemmaConfig(readFixtureJson(`models/${model}/config.json`));
  const reader = await openSafetensors(fixtureModelDir(model));
  const files: string[] = [];
  try {
    const L = config.textConfig.numHiddenLayers;
    for (let from = 0; from < L; from += per) {
      const file = join(dir, `part${files.length}.onnx`);
      const layers = { from, to: Math.min(L, from + per) };
      await writeModel(
        buildDecoderGraph(config, checkpointWeights(reader), { callerKeptCache: true, layers }),
        file,
      );
      files.push(file);
    }
  } finally {
    await reader.close();
  }
  const stats = { opened: 0, live: 0 };
  const parts: PromptParts = {
    count: files.length,
    async run(index, feeds) {
      const session = await ort.InferenceSession.create(files[index]!);
      stats.opened++;
      stats.live++;
      try {
        return await session.run(feeds(session.inputNames));
      } finally {
        await session.release();
        stats.live--;
      }
    },
  };
  return { parts, stats, files };
}

describe.each(FIXTURE_MODELS)(
  'Gemma 2 decoder of %s against HF transformers (eager, token_type_ids)',
  (model) => {
    let raw: FixturePipeline;
    let capped: FixturePipeline;
    let rawStep: FixturePipeline;
    let step: FixturePipeline;
    beforeAll(async () => {
      raw = await fixturePipeline(model, { omitFinalSoftcap: true });
      capped = await fixturePipeline(model);
      rawStep = await fixturePipeline(model, { omitFinalSoftcap: true, callerKeptCache: true });
      step = await fixturePipeline(model, { callerKeptCache: true });
    });
    afterAll(async () => {
      await raw.release();
      await capped.release();
      await rawStep.release();
      await step.release();
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

      it.each([
        ['decoder', false],
        ['step graph (caller-kept cache, MatMul attention)', true],
      ])(
        `${c.case}: prefill last-position logits equal HF's (before the soft-cap), %s`,
        async (_graph, isStep) => {
          const pipeline = isStep ? rawStep : raw;
          const runner = pipeline.newRunner(isStep ? { sharedCache: true } : {});
          runner.start(await promptOf(pipeline), 1);
          const rows = await runner.prefill();
          const expected = tensor('logits').data as Float32Array;
          const V = pipeline.config.textConfig.vocabSize;
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
        },
      );

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
        await expectGoldenTokens(runner, tensor('tokens').data as Int32Array, c.batch_size);
        runner.dispose();
      });

      it.each([1, 2])(
        `${c.case}: the prompt in parts of %i layer(s), each a session released after its run, then its last token as a step: logits and 24 tokens equal HF's`,
        async (per) => {
          const { parts, stats, files } = await promptParts(model, per);
          const L = step.config.textConfig.numHiddenLayers;
          expect(files.length).toBe(Math.ceil(L / per));
          const rawRunner = rawStep.newRunner({ sharedCache: true, promptParts: parts });
          rawRunner.start(await promptOf(rawStep), 1);
          const rows = await rawRunner.prefill();
          rawRunner.dispose();
          const expected = tensor('logits').data as Float32Array;
          const V = rawStep.config.textConfig.vocabSize;
          rows.forEach((row, b) => {
            const ref = expected.subarray(b * V, (b + 1) * V);
            const err = maxAbs(row.map((x, i) => x - ref[i]!));
            console.log(
              `[decoder parity] ${model}/${c.case} row ${b}, prompt in parts of ${per}: max abs err ${err.toExponential(2)}`,
            );
            expect(err).toBeLessThanOrEqual(1e-4 * maxAbs(ref));
          });
          expect(stats).toEqual({ opened: files.length, live: 0 });
          const runner = step.newRunner({ sharedCache: true, promptParts: parts });
          runner.start(await promptOf(step), 24);
          await expectGoldenTokens(runner, tensor('tokens').data as Int32Array, c.batch_size);
          runner.dispose();
          expect(stats).toEqual({ opened: 2 * files.length, live: 0 });
        },
      );

      it.each([
        ['the step graph runs the prompt too', 'step'],
        ['the decoder runs the prompt into the buffers, the step graph the steps', 'split'],
        ['the step graph runs the prompt, the decoder the steps, the cache copied', 'copy'],
      ])(`${c.case}: greedy generation with the step graph gives HF's 24 tokens: %s`, async (_how, how) => {
        const runner =
          how === 'split'
            ? new DecoderRunner(step.decoderSession, ort.Tensor, step.config.textConfig, embedRowsOf(step), {
                sharedCache: true,
                prefillSession: capped.decoderSession,
              })
            : how === 'copy'
              ? new DecoderRunner(
                  capped.decoderSession,
                  ort.Tensor,
                  step.config.textConfig,
                  embedRowsOf(step),
                  {
                    sharedCache: false,
                    prefillSession: step.decoderSession,
                  },
                )
              : step.newRunner({ sharedCache: true });
        expect(runner.cacheMode).toBe(how === 'copy' ? 'copy' : 'append');
        runner.start(await promptOf(step), 24);
        await expectGoldenTokens(runner, tensor('tokens').data as Int32Array, c.batch_size);
        runner.dispose();
      });
    }

    it('the step graph has no sliding-window or export-style form: a typed refusal', async () => {
      const reader = await openSafetensors(fixtureModelDir(model));
      try {
        const config = parsePaliGemmaConfig(readFixtureJson(`models/${model}/config.json`));
        for (const other of [{ slidingWindow: true }, { exportStyle: true }]) {
          expect(() =>
            buildDecoderGraph(config, checkpointWeights(reader), { callerKeptCache: true, ...other }),
          ).toThrow(/no sliding-window or export-style form/);
        }
      } finally {
        await reader.close();
      }
    });

    it('prompt parts: a typed refusal for a bad layer range, and without a step graph to run', async () => {
      const reader = await openSafetensors(fixtureModelDir(model));
      try {
        const config = parsePaliGemmaConfig(readFixtureJson(`models/${model}/config.json`));
        const L = config.textConfig.numHiddenLayers;
        for (const bad of [
          { callerKeptCache: false, layers: { from: 0, to: 1 } },
          { callerKeptCache: true, layers: { from: 1, to: 1 } },
          { callerKeptCache: true, layers: { from: 0, to: L + 1 } },
        ]) {
          expect(() => buildDecoderGraph(config, checkpointWeights(reader), bad)).toThrow(/Layers \[/);
        }
      } finally {
        await reader.close();
      }
      const parts: PromptParts = { count: 1, run: () => Promise.reject(new Error('not run')) };
      expect(() => capped.newRunner({ sharedCache: true, promptParts: parts })).toThrow(/need a step graph/);
    });

    it('the step graph returns no present cache, so it refuses to run without shared buffers', () => {
      expect(step.decoderSession.outputNames.some((n) => n.startsWith('present.'))).toBe(false);
      expect(() => step.newRunner({ sharedCache: false })).toThrow(/returns no present cache/);
    });

    it('warmUp() runs a throwaway prompt and step on the step session only, and leaves no state', async () => {
      const c = goldenCases(model)[0]!;
      const tensor = (role: string) => goldenTensor(c.tensors[role]!);
      const runs = { step: 0, prefill: 0 };
      const counting = (key: keyof typeof runs): ort.InferenceSession =>
        new Proxy(capped.decoderSession, {
          get(target, prop) {
            if (prop === 'run')
              return (...args: Parameters<ort.InferenceSession['run']>) => {
                runs[key]++;
                return target.run(...args);
              };
            const value = Reflect.get(target, prop);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      const runner = new DecoderRunner(
        counting('step'),
        ort.Tensor,
        capped.config.textConfig,
        embedRowsOf(capped),
        {
          sharedCache: true,
          prefillSession: counting('prefill'),
        },
      );
      await runner.warmUp(300);
      expect(runs).toEqual({ step: 2, prefill: 0 });
      await expect(runner.prefill()).rejects.toThrow(/before start/);
      runner.start(
        await capped.prompt(
          tensor('input_ids').data as Int32Array,
          c.batch_size,
          c.images,
          tensor('attention_mask').data as Int32Array,
          tensor('position_ids').data as Int32Array,
        ),
        24,
      );
      await expectGoldenTokens(runner, tensor('tokens').data as Int32Array, c.batch_size);
      expect(runs).toEqual({ step: 2 + 23, prefill: 1 });
      runner.dispose();
    });
  },
);
