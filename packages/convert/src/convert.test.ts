import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPaliError } from '@pali/errors';
import { FIXTURE_MODELS, fixtureModelDir, goldenTensor } from '@pali/fixtures';
import { decodeModelProto } from '@pali/onnx';
import { openSafetensors, writeSafetensorsFile } from '@pali/onnx/node';
import { VisionEncoder } from '@pali/siglip';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from './convert.js';

const work = mkdtempSync(join(tmpdir(), 'pali-convert-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(FIXTURE_MODELS)('convertCheckpoint(%s)', (model) => {
  it('writes the onnx-community folder, and its vision encoder gives HF features', async () => {
    const out = join(work, model);
    const stages = new Set<string>();
    let last = 0;
    const result = await convertCheckpoint(fixtureModelDir(model), out, {
      onProgress: (p) => {
        stages.add(p.stage);
        expect(p.written).toBeGreaterThanOrEqual(last);
        last = p.written;
        expect(p.written).toBeLessThanOrEqual(p.total);
      },
    });
    // embed_tokens writes no data of its own: it reads the tied table from the decoder's data file,
    // and the step graph all of its tensors.
    expect([...stages]).toEqual(['vision_encoder', 'decoder_model_merged', 'files']);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).pali.sharedExternalData).toEqual({
      'embed_tokens.onnx': 'decoder_model_merged.onnx_data',
      'decoder_step.onnx': 'decoder_model_merged.onnx_data',
    });
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).pali.step).toEqual({
      fp32: 'onnx/decoder_step.onnx',
    });
    const paths = result.files.map((f) => f.path);
    for (const f of [
      'config.json',
      'generation_config.json',
      'preprocessor_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'onnx/vision_encoder.onnx',
      'onnx/embed_tokens.onnx',
      'onnx/decoder_model_merged.onnx',
      'onnx/decoder_step.onnx',
    ]) {
      expect(paths).toContain(f);
    }
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.model_type).toBe('paligemma');
    expect(config.pali).toMatchObject({
      version: 1,
      prefixLm: true,
      lastPositionLogits: true,
      slidingWindow: false,
    });
    // Every ONNX file with a data file is declared, as transformers.js needs in browsers.
    for (const p of paths.filter((x) => x.endsWith('.onnx_data'))) {
      expect(config['transformers.js_config'].use_external_data_format[p.slice(5, -5)]).toBe(1);
    }
    // No staging folder left beside the output.
    expect(readdirSync(work).filter((n) => n.includes('.partial-'))).toEqual([]);

    const session = await ort.InferenceSession.create(join(out, 'onnx/vision_encoder.onnx'));
    const encoder = new VisionEncoder(session, ort.Tensor, result.config.visionConfig.imageSize);
    const { data } = await encoder.encode(
      goldenTensor(`${model}/pixel_values/one-1x1`).data as Float32Array,
      1,
    );
    const expected = goldenTensor(`${model}/image_features/one-1x1`).data as Float32Array;
    const scale = Math.sqrt(result.config.textConfig.hiddenSize);
    let err = 0;
    let max = 0;
    expected.forEach((e, i) => {
      err = Math.max(err, Math.abs(data[i]! * scale - e));
      max = Math.max(max, Math.abs(e));
    });
    expect(err / max).toBeLessThan(1e-5);
    await session.release();
  });
});

/** A copy of the tiny-3b checkpoint with its tensors changed by `edit`. */
async function brokenCheckpoint(
  name: string,
  edit: (tensors: { name: string; dtype: 'bfloat16'; shape: number[]; data: Uint16Array }[]) => void,
): Promise<string> {
  const dir = join(work, name);
  cpSync(fixtureModelDir('tiny-3b'), dir, { recursive: true });
  const reader = await openSafetensors(dir);
  const tensors = [];
  for (const n of reader.names()) {
    const t = await reader.readTensor(n);
    tensors.push({ name: n, dtype: 'bfloat16' as const, shape: [...t.shape], data: t.data as Uint16Array });
  }
  await reader.close();
  edit(tensors);
  await writeSafetensorsFile(join(dir, 'model.safetensors'), tensors);
  return dir;
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    if (isPaliError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a PaliError');
}

describe('convertCheckpoint blockSize', () => {
  it('writes every block table (MatMulNBits and the gather) with it, and refuses a bad one before writing', async () => {
    const out = join(work, 'q4-b16');
    await convertCheckpoint(fixtureModelDir('tiny-3b'), out, { dtype: 'q4', blockSize: 16 });
    const blockSizes = new Set<number>();
    for (const file of [
      'decoder_model_merged_q4.onnx',
      'decoder_step_q4.onnx',
      'embed_tokens_q4.onnx',
      'vision_encoder_q4.onnx',
    ]) {
      const model = decodeModelProto(new Uint8Array(readFileSync(join(out, 'onnx', file))));
      for (const n of model.graph.node)
        if (n.opType === 'MatMulNBits' || n.opType === 'GatherBlockQuantized')
          blockSizes.add(Number(n.attribute.find((a) => a.name === 'block_size')?.i));
    }
    expect([...blockSizes]).toEqual([16]);
    const bad = join(work, 'q4-b48');
    const error = await convertCheckpoint(fixtureModelDir('tiny-3b'), bad, {
      dtype: 'q4',
      blockSize: 48,
    }).catch((e: unknown) => e);
    expect(isPaliError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect(existsSync(bad)).toBe(false);
  });
});

describe('convertCheckpoint step graph', () => {
  it('is left out with slidingWindow (it has no sliding form), and the folder still loads its decoder', async () => {
    const out = join(work, 'sliding');
    const result = await convertCheckpoint(fixtureModelDir('tiny-3b'), out, { slidingWindow: true });
    expect(result.files.map((f) => f.path).filter((p) => p.includes('decoder_step'))).toEqual([]);
    const pali = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).pali;
    expect(pali.slidingWindow).toBe(true);
    expect(pali.step).toBeUndefined();
    expect(Object.keys(pali.sharedExternalData)).toEqual(['embed_tokens.onnx']);
  });
});

describe('convertCheckpoint refuses bad checkpoints with errors that name the problem', () => {
  it('a missing tensor', async () => {
    const src = await brokenCheckpoint('missing', (ts) => {
      ts.splice(
        ts.findIndex((t) => t.name === 'language_model.model.layers.1.mlp.up_proj.weight'),
        1,
      );
    });
    const e = await failure(convertCheckpoint(src, join(work, 'out-missing')));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toMatch(/language_model\.model\.layers\.1\.mlp\.up_proj\.weight/);
    expect(existsSync(join(work, 'out-missing'))).toBe(false);
  });

  it('an unexpected tensor', async () => {
    const src = await brokenCheckpoint('extra', (ts) => {
      ts.push({
        name: 'language_model.model.layers.7.mlp.up_proj.weight',
        dtype: 'bfloat16',
        shape: [2],
        data: new Uint16Array(2),
      });
    });
    const e = await failure(convertCheckpoint(src, join(work, 'out-extra')));
    expect(e.code).toBe('CORRUPT_FILE');
    expect(e.message).toMatch(/layers\.7\.mlp\.up_proj\.weight/);
  });

  it('a wrong shape', async () => {
    const src = await brokenCheckpoint('shape', (ts) => {
      const t = ts.find((x) => x.name === 'multi_modal_projector.linear.bias')!;
      t.shape = [t.shape[0]! - 1];
      t.data = t.data.subarray(1);
    });
    const e = await failure(convertCheckpoint(src, join(work, 'out-shape')));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toMatch(/multi_modal_projector\.linear\.bias has shape \[\d+\]/);
  });

  it('a missing tokenizer, a missing folder and an existing output', async () => {
    const src = join(work, 'no-tokenizer');
    cpSync(fixtureModelDir('tiny-3b'), src, { recursive: true });
    rmSync(join(src, 'tokenizer.json'));
    expect((await failure(convertCheckpoint(src, join(work, 'out-tok')))).message).toMatch(
      /no tokenizer\.json/,
    );
    expect((await failure(convertCheckpoint(join(work, 'nowhere'), join(work, 'out-x')))).code).toBe(
      'NOT_FOUND',
    );
    const existing = join(work, 'existing');
    writeFileSync(join(work, 'existing'), 'x');
    expect((await failure(convertCheckpoint(fixtureModelDir('tiny-3b'), existing))).message).toMatch(
      /--overwrite/,
    );
  });

  it('a truncated shard, a tensor of the wrong dtype, and an existing output left untouched', async () => {
    // tiny-28b is sharded: cut its second shard short.
    const sharded = join(work, 'truncated');
    cpSync(fixtureModelDir('tiny-28b'), sharded, { recursive: true });
    const shard = join(sharded, 'model-00002-of-00002.safetensors');
    const bytes = readFileSync(shard);
    writeFileSync(shard, bytes.subarray(0, bytes.byteLength - 1000));
    const existing = join(work, 'keep-me');
    cpSync(fixtureModelDir('tiny-28b'), existing, { recursive: true });
    const e = await failure(convertCheckpoint(sharded, existing, { overwrite: true }));
    expect(e.code).toBe('CORRUPT_FILE');
    expect(e.message).toMatch(/model-00002-of-00002\.safetensors/);
    // The folder that was there is still there, unchanged.
    expect(readFileSync(join(existing, 'model-00002-of-00002.safetensors'))).toEqual(
      readFileSync(join(fixtureModelDir('tiny-28b'), 'model-00002-of-00002.safetensors')),
    );
    const wrongDtype = await brokenCheckpoint('dtype', (ts) => {
      const t = ts.find((x) => x.name === 'multi_modal_projector.linear.bias')!;
      Object.assign(t, { dtype: 'int64', data: new BigInt64Array(t.data.length) });
    });
    const d = await failure(convertCheckpoint(wrongDtype, join(work, 'out-dtype')));
    expect(['UNSUPPORTED_DTYPE', 'CORRUPT_FILE']).toContain(d.code);
    expect(d.message).toMatch(/multi_modal_projector\.linear\.bias|I64|int64/);
  });

  it('a cancelled conversion leaves nothing behind', async () => {
    const controller = new AbortController();
    const promise = convertCheckpoint(fixtureModelDir('tiny-3b'), join(work, 'out-abort'), {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect((await failure(promise)).code).toBe('ABORTED');
    expect(existsSync(join(work, 'out-abort'))).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes('.partial-'))).toEqual([]);
  });
});
