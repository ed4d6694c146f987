import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureModelDir, goldenCases, goldenTensor } from '@pali/fixtures';
import { COMPONENTS, type ModelDtype, onnxPath } from '@pali/model-folder';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from './convert.js';

const work = mkdtempSync(join(tmpdir(), 'pali-variants-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
ortWeb.env.wasm.numThreads = 1;

type Ort = typeof ortNode | typeof ortWeb;

/** Sessions of one variant in one runtime; onnxruntime-web gets every data file as bytes. */
async function sessions(ort: Ort, folder: string, dtype: ModelDtype) {
  const onnxDir = join(folder, 'onnx');
  const dataFiles = readdirSync(onnxDir).filter((f) => f.endsWith('.onnx_data'));
  const out = {} as Record<(typeof COMPONENTS)[number], ortNode.InferenceSession>;
  for (const c of COMPONENTS) {
    const path = join(folder, onnxPath(c, dtype));
    out[c] =
      ort === ortNode
        ? await ortNode.InferenceSession.create(path)
        : ((await ortWeb.InferenceSession.create(new Uint8Array(readFileSync(path)), {
            executionProviders: ['wasm'],
            externalData: dataFiles.map((f) => ({
              path: f,
              data: new Uint8Array(readFileSync(join(onnxDir, f))),
            })),
          })) as unknown as ortNode.InferenceSession);
  }
  return out;
}

/** Vision features, prompt embeddings and the prefill's last logits for the golden caption case. */
async function prefill(ort: Ort, folder: string, dtype: ModelDtype): Promise<Float32Array> {
  const s = await sessions(ort, folder, dtype);
  const c = goldenCases('tiny-3b').find((x) => x.case === 'caption')!;
  const ids = goldenTensor(c.tensors.input_ids!).data as Int32Array;
  const pixels = goldenTensor(`tiny-3b/pixel_values/${c.images[0]}`);
  const T = ort.Tensor as typeof ortNode.Tensor;
  const { image_features: features } = await s.vision_encoder.run({
    pixel_values: new T('float32', pixels.data as Float32Array, pixels.shape),
  });
  const { inputs_embeds: embeds } = await s.embed_tokens.run({
    input_ids: new T(
      'int64',
      BigInt64Array.from(ids, (i) => BigInt(i)),
      [1, ids.length],
    ),
  });
  const H = features!.dims[2]!;
  const e = Float32Array.from(embeds!.data as Float32Array);
  const f = features!.data as Float32Array;
  let k = 0;
  ids.forEach((id, i) => {
    if (id === 2176) e.set(f.subarray(k * H, ++k * H), i * H);
  });
  const feeds: Record<string, ortNode.Tensor> = {
    inputs_embeds: new T('float32', e, [1, ids.length, H]),
    attention_mask: new T('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    position_ids: new T(
      'int64',
      BigInt64Array.from(ids, (_, i) => BigInt(i + 1)),
      [1, ids.length],
    ),
  };
  for (const name of s.decoder_model_merged.inputNames.filter((n) => n.startsWith('past_key_values'))) {
    feeds[name] = new T('float32', new Float32Array(0), [1, 2, 0, 16]);
  }
  const out = await s.decoder_model_merged.run(feeds);
  for (const session of Object.values(s)) await session.release();
  return Float32Array.from(out.logits!.data as Float32Array);
}

function relMax(ref: Float32Array, test: Float32Array): number {
  let d = 0;
  let m = 0;
  ref.forEach((r, i) => {
    d = Math.max(d, Math.abs(test[i]! - r));
    m = Math.max(m, Math.abs(r));
  });
  return d / m;
}

describe('every dtype variant runs on onnxruntime-node and onnxruntime-web (wasm)', () => {
  const dtypes: ModelDtype[] = ['fp32', 'fp16', 'q8', 'uint8', 'q4', 'q4f16', 'bnb4'];
  let fp32: Float32Array;
  for (const dtype of dtypes) {
    it(`${dtype}: converts, runs in both runtimes with the same logits, and reports its error against fp32`, async () => {
      const folder = join(work, dtype);
      await convertCheckpoint(fixtureModelDir('tiny-3b'), folder, { dtype });
      const node = await prefill(ortNode, folder, dtype);
      const web = await prefill(ortWeb, folder, dtype);
      fp32 ??= node;
      const between = relMax(node, web);
      const vsFp32 = relMax(fp32, node);
      console.log(
        `[variants] ${dtype}: node vs wasm ${between.toExponential(2)}, vs fp32 ${vsFp32.toExponential(2)}`,
      );
      // fp32/fp16/int8/nf4 run the same arithmetic in both runtimes (up to accumulation order). For q4
      // MatMulNBits' accuracy_level 4 makes the CPU kernel quantize activations to int8 while wasm
      // ignores it and stays in float32, so they differ by that activation rounding as well. The
      // quantization error itself is quant-report's business, not a pass mark.
      const bound = { fp32: 1e-4, fp16: 1e-4, q4: 0.25, q4f16: 0.25 } as Record<string, number>;
      expect(between).toBeLessThan(bound[dtype] ?? 2e-2);
      if (dtype === 'fp32') expect(vsFp32).toBe(0);
      if (dtype === 'fp16') expect(vsFp32).toBeLessThan(1e-2);
    });
  }
});
