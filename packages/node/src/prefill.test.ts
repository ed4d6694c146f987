// The int8 prefill graph (convert --prefill int8): the prompt pass runs on DynamicQuantizeMatMul
// layers and the steps on the decoder. Its cost is an error against the float32 path, reported here
// and bounded; the tests also prove that the graph is really the one used.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import { PaliGemma as CorePaliGemma } from '@pali/core';
import { isPaliError } from '@pali/errors';
import { fixtureImagePath, fixtureModelDir, goldenCases } from '@pali/fixtures';
import { prefillPartPath, prefillPath, stepPath, VISION_PREFILL_PATH } from '@pali/model-folder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsModelFiles, nodeRuntime, PaliGemma } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'pali-prefill-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MODEL = 'tiny-3b';
const caption = () => goldenCases(MODEL).find((c) => c.case === 'caption')!;

/** Prefill logits and 8 teacher-forced steps after it, on one folder with the given options. */
async function forced(folder: string, options: Parameters<typeof PaliGemma.load>[1], tokens: number[]) {
  const pg = await PaliGemma.load(folder, { threads: 1, ...options });
  try {
    const c = caption();
    const rows = await pg.forcedLogits(fixtureImagePath(c.images[0]!), c.prompts[0]!, tokens);
    return {
      rows,
      int8Prefill: pg.int8Prefill,
      int8Vision: pg.int8Vision,
      promptSessions: pg.promptSessions,
      kvCache: pg.kvCacheMode,
      stepGraph: pg.stepGraph,
    };
  } finally {
    await pg.dispose();
  }
}

function argmax(row: Float32Array): number {
  let best = 0;
  row.forEach((v, i) => {
    if (v > row[best]!) best = i;
  });
  return best;
}

function relRms(ref: Float32Array, test: Float32Array): number {
  let d = 0;
  let r = 0;
  ref.forEach((v, i) => {
    d += (test[i]! - v) ** 2;
    r += v * v;
  });
  return Math.sqrt(d / r);
}

describe.each(['fp32', 'q4'] as const)('int8 prefill beside a %s decoder (tiny-3b)', (dtype) => {
  const withPrefill = join(work, `${dtype}-prefill`);
  const plain = join(work, `${dtype}-plain`);
  const fp32 = join(work, 'fp32-reference');
  let tokens: number[];

  beforeAll(async () => {
    // Parts of one layer: two of them for tiny-3b's two layers.
    await convertCheckpoint(fixtureModelDir(MODEL), withPrefill, {
      dtype,
      prefill: 'int8',
      prefillPartLayers: 1,
      overwrite: true,
    });
    if (!existsSync(plain)) await convertCheckpoint(fixtureModelDir(MODEL), plain, { dtype });
    if (!existsSync(fp32)) await convertCheckpoint(fixtureModelDir(MODEL), fp32, { dtype: 'fp32' });
    tokens = [9, 17, 30, 41, 55, 100, 250, 1000];
  }, 120_000);

  it('the converter records it, and the prefill graph reads the norms and RoPE tables from the decoder data file', () => {
    const config = JSON.parse(readFileSync(join(withPrefill, 'config.json'), 'utf8'));
    const parts = [prefillPartPath(dtype, 0), prefillPartPath(dtype, 1)];
    expect(config.pali.prefill).toEqual({
      vision: VISION_PREFILL_PATH,
      decoder: { [dtype]: prefillPath(dtype) },
      decoderParts: { [dtype]: parts },
    });
    // The parts are graphs only, on the prefill graph's int8 weights and the decoder's norms.
    for (const part of parts) {
      expect(existsSync(join(withPrefill, `${part}_data`))).toBe(false);
      const bytes = readFileSync(join(withPrefill, part));
      expect(bytes.includes(Buffer.from(`${prefillPath(dtype).slice('onnx/'.length)}_data`))).toBe(true);
      expect(
        bytes.includes(Buffer.from(`decoder_model_merged${dtype === 'q4' ? '_q4' : ''}.onnx_data`)),
      ).toBe(true);
    }
    expect(config.pali.step).toEqual({ [dtype]: stepPath(dtype) });
    // The step graph is a graph only: every tensor of it is read from the decoder's data file.
    expect(existsSync(join(withPrefill, `${stepPath(dtype)}_data`))).toBe(false);
    const step = readFileSync(join(withPrefill, stepPath(dtype)));
    expect(step.length).toBeLessThan(1 << 20);
    expect(step.includes(Buffer.from(`decoder_model_merged${dtype === 'q4' ? '_q4' : ''}.onnx_data`))).toBe(
      true,
    );
    expect(existsSync(join(withPrefill, VISION_PREFILL_PATH))).toBe(true);
    expect(existsSync(join(withPrefill, prefillPath(dtype)))).toBe(true);
    // transformers.js never sees it: it is not among the files it is told have external data.
    expect(Object.keys(config['transformers.js_config'].use_external_data_format)).not.toContain(
      prefillPath(dtype).slice('onnx/'.length),
    );
    const onnx = readFileSync(join(withPrefill, prefillPath(dtype)));
    expect(onnx.includes(Buffer.from(`decoder_model_merged${dtype === 'q4' ? '_q4' : ''}.onnx_data`))).toBe(
      true,
    );
  });

  it('is used by default, costs a bounded error against float32, and can be turned off', async () => {
    const reference = await forced(fp32, { prefill: 'off' }, tokens);
    const fast = await forced(withPrefill, {}, tokens);
    const off = await forced(withPrefill, { prefill: 'off' }, tokens);
    const same = await forced(plain, {}, tokens);
    expect(fast.int8Prefill).toBe(true);
    expect(off.int8Prefill).toBe(false);
    expect(same.int8Prefill).toBe(false);
    // Every folder we convert has the step graph, with or without the int8 prompt pass.
    expect([fast.stepGraph, off.stepGraph, same.stepGraph]).toEqual([true, true, true]);
    // The int8 vision tower stands in for a quantized one only; a float32 choice is kept.
    expect(fast.int8Vision).toBe(dtype === 'q4');
    expect(off.int8Vision || same.int8Vision).toBe(false);
    const err = (a: Float32Array[], b: Float32Array[]) => a.map((row, i) => relRms(row, b[i]!));
    const prefillErr = err(reference.rows, fast.rows);
    const plainErr = err(reference.rows, same.rows);
    const top1 = fast.rows.filter((row, i) => argmax(row) === argmax(reference.rows[i]!)).length;
    console.log(
      `[prefill] ${dtype} decoder: rel RMS vs fp32 with int8 prefill: prompt ${prefillErr[0]!.toExponential(2)}, steps max ${Math.max(...prefillErr.slice(1)).toExponential(2)}; without: prompt ${plainErr[0]!.toExponential(2)}, steps max ${Math.max(...plainErr.slice(1)).toExponential(2)}; top-1 agreement ${top1}/${fast.rows.length}`,
    );
    // Off means the decoder runs the prompt: exactly the plain folder's numbers.
    for (const [i, row] of off.rows.entries()) expect(relRms(same.rows[i]!, row)).toBe(0);
    // On means another graph ran the prompt: its logits and the cache the steps read differ.
    expect(prefillErr[0]).toBeGreaterThan(dtype === 'fp32' ? 1e-4 : 0);
    // fp32 decoder: int8 per-channel weights cost 5.9e-2 rel RMS here (random weights, 2 layers); q4
    // on this tiny random model is ~1.0 from fp32 either way, so int8 may only add a little to it.
    const plainMax = Math.max(...plainErr);
    for (const e of prefillErr) expect(e).toBeLessThan(dtype === 'fp32' ? 0.1 : plainMax * 1.2 + 0.1);
  });

  it('gives the same logits with the steps on the decoder copying the cache, or on the step graph', async () => {
    const copied = await forced(withPrefill, { kvCache: 'copy', stepGraph: 'off' }, tokens);
    const appended = await forced(withPrefill, { kvCache: 'shared', promptSessions: 'resident' }, tokens);
    expect([copied.promptSessions, appended.promptSessions]).toEqual(['resident', 'resident']);
    expect(copied.int8Prefill && appended.int8Prefill).toBe(true);
    expect([copied.stepGraph, appended.stepGraph]).toEqual([false, true]);
    for (const [i, row] of copied.rows.entries()) expect(relRms(row, appended.rows[i]!)).toBeLessThan(1e-5);
  });

  it('transient prompt sessions (the default with parts): the same error bound as the whole graph; each is released after its run and opened again while idle', async () => {
    const reference = await forced(fp32, { prefill: 'off' }, tokens);
    const transient = await forced(withPrefill, {}, tokens);
    const resident = await forced(withPrefill, { promptSessions: 'resident' }, tokens);
    expect([transient.promptSessions, resident.promptSessions]).toEqual(['transient', 'resident']);
    expect(transient.int8Prefill && resident.int8Prefill).toBe(true);
    const err = (rows: Float32Array[]) => rows.map((row, i) => relRms(reference.rows[i]!, row));
    const [t, r] = [err(transient.rows), err(resident.rows)];
    console.log(
      `[prefill] ${dtype} decoder, rel RMS vs fp32: transient parts (last prompt token as a ${dtype} step) prompt ${t[0]!.toExponential(2)}, steps max ${Math.max(...t.slice(1)).toExponential(2)}; whole graph prompt ${r[0]!.toExponential(2)}, steps max ${Math.max(...r.slice(1)).toExponential(2)}`,
    );
    // Other graphs ran: not the same numbers as the whole graph, but as close to float32.
    expect(relRms(resident.rows[0]!, transient.rows[0]!)).toBeGreaterThan(0);
    for (const [i, e] of t.entries())
      expect(e).toBeLessThan(Math.max(r[i]! * 1.5, dtype === 'fp32' ? 0.1 : 0));

    // Sessions opened: each part and the int8 vision tower at load, again after each generation.
    const opened: string[] = [];
    const pg = await PaliGemma.load(withPrefill, {
      threads: 1,
      onProgress: (e) => {
        if (e.stage === 'session') opened.push(e.file);
      },
    });
    try {
      const transientFiles = [
        ...(dtype === 'q4' ? [VISION_PREFILL_PATH] : []),
        prefillPartPath(dtype, 0),
        prefillPartPath(dtype, 1),
      ];
      const count = (file: string) => opened.filter((f) => f === file).length;
      expect(transientFiles.map(count)).toEqual(transientFiles.map(() => 1));
      expect(opened).not.toContain(prefillPath(dtype));
      const c = caption();
      const request = { image: fixtureImagePath(c.images[0]!), prompt: c.prompts[0]!, maxNewTokens: 3 };
      const first = await pg.run(request);
      // Opened again while idle, after the generation (polled: it happens on later macrotasks).
      for (let i = 0; i < 200 && transientFiles.some((f) => count(f) < 2); i++)
        await new Promise((done) => setTimeout(done, 10));
      expect(transientFiles.map(count)).toEqual(transientFiles.map(() => 2));
      // Back to back: the next generation gives the same tokens; prepare() opens what it released.
      expect((await pg.run(request))[0]!.tokens).toEqual(first[0]!.tokens);
      await pg.prepare();
      expect(transientFiles.map(count)).toEqual(transientFiles.map(() => 3));
    } finally {
      await pg.dispose();
    }
  });

  it('a runtime that reads weights into memory (as in browsers) holds the prompt graphs by default', async () => {
    const runtime = { ...nodeRuntime(withPrefill, { threads: 1 }), mapsExternalData: false };
    const load = (options: { promptSessions?: 'transient' }) =>
      CorePaliGemma.fromFolder(
        fsModelFiles(withPrefill),
        runtime,
        () => Promise.reject(new Error('unused')),
        options,
      );
    const held = await load({});
    const asked = await load({ promptSessions: 'transient' });
    try {
      expect([held.promptSessions, asked.promptSessions]).toEqual(['resident', 'transient']);
    } finally {
      await held.dispose();
      await asked.dispose();
    }
  });

  it("promptSessions 'transient' needs the parts and the step graph: typed errors that say what to do", async () => {
    const noParts = await PaliGemma.load(plain, { promptSessions: 'transient' }).catch((e: unknown) => e);
    expect(isPaliError(noParts) && noParts.code).toBe('NOT_FOUND');
    expect(String((noParts as Error & { hint?: string }).hint)).toContain('--prefill int8');
    const noStep = await PaliGemma.load(withPrefill, { promptSessions: 'transient', stepGraph: 'off' }).catch(
      (e: unknown) => e,
    );
    expect(isPaliError(noStep) && noStep.code).toBe('INVALID_ARGUMENT');
    // Without the step graph the default falls back to the whole graph.
    const fallback = await forced(withPrefill, { stepGraph: 'off' }, tokens);
    expect(fallback.promptSessions).toBe('resident');
  });

  it("prefill 'int8' on a folder without one is a typed error that says how to make it", async () => {
    const error = await PaliGemma.load(plain, { prefill: 'int8' }).catch((e: unknown) => e);
    expect(isPaliError(error) && error.code).toBe('NOT_FOUND');
    expect(String((error as Error & { hint?: string }).hint)).toContain('--prefill int8');
  });
});

describe('LoadOptions reach the pipeline through PaliGemma.load', () => {
  it('kvCache copy and shared are both honoured', async () => {
    const folder = join(work, 'fp32-reference');
    if (!existsSync(folder)) await convertCheckpoint(fixtureModelDir(MODEL), folder, { dtype: 'fp32' });
    const copy = await forced(folder, { kvCache: 'copy', stepGraph: 'off' }, [9, 17]);
    const shared = await forced(folder, { kvCache: 'shared', stepGraph: 'off' }, [9, 17]);
    expect(copy.kvCache).toBe('copy');
    expect(shared.kvCache).toBe('shared');
    for (const [i, row] of copy.rows.entries()) expect(relRms(row, shared.rows[i]!)).toBeLessThan(1e-5);
  });
});

describe('the step graph', () => {
  it("is used by default, gives the decoder's logits, and a folder without it (converted before it) loads the decoder", async () => {
    const folder = join(work, 'step-or-not');
    await convertCheckpoint(fixtureModelDir(MODEL), folder, { dtype: 'fp32' });
    const tokens = [9, 17, 30];
    const onStep = await forced(folder, {}, tokens);
    const off = await forced(folder, { stepGraph: 'off' }, tokens);
    // kvCache is the decoder's setting: the step graph keeps its cache in our buffers either way.
    const copyAsked = await forced(folder, { kvCache: 'copy' }, tokens);
    expect(copyAsked.stepGraph).toBe(true);
    rmSync(join(folder, stepPath('fp32')));
    const without = await forced(folder, {}, tokens);
    expect([onStep.stepGraph, off.stepGraph, without.stepGraph]).toEqual([true, false, false]);
    for (const [i, row] of off.rows.entries()) {
      expect(relRms(row, onStep.rows[i]!)).toBeLessThan(1e-5);
      expect(relRms(row, without.rows[i]!)).toBe(0);
    }
  });
});

describe('beam search over the real decoder in every cache mode', () => {
  it('3 beams give the same tokens with the cache copied, appended in place, and with the int8 prompt pass', async () => {
    const folder = join(work, 'q4-prefill');
    if (!existsSync(folder))
      await convertCheckpoint(fixtureModelDir(MODEL), folder, { dtype: 'q4', prefill: 'int8' });
    const c = caption();
    const run = async (options: Parameters<typeof PaliGemma.load>[1]) => {
      const pg = await PaliGemma.load(folder, { threads: 1, ...options });
      try {
        const [r] = await pg.run({
          image: fixtureImagePath(c.images[0]!),
          prompt: c.prompts[0]!,
          maxNewTokens: 12,
          numBeams: 3,
          ignoreEos: true,
        });
        return r!.tokens;
      } finally {
        await pg.dispose();
      }
    };
    const copy = await run({ kvCache: 'copy', prefill: 'off', stepGraph: 'off' });
    const shared = await run({ kvCache: 'shared', prefill: 'off' });
    expect(copy).toHaveLength(12);
    expect(shared).toEqual(copy);
    // With the int8 prompt pass the numbers differ (another graph ran the prompt); the beams still
    // run through the shared cache to a full-length answer.
    expect(await run({ kvCache: 'shared' })).toHaveLength(12);
  });
});
