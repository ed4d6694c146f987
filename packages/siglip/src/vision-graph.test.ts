import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FIXTURE_MODELS,
  fixtureModelDir,
  goldenTensor,
  readFixtureJson,
  readGoldenManifest,
} from '@pali/fixtures';
import { checkpointWeights, parsePaliGemmaConfig } from '@pali/model-folder';
import { openSafetensors, writeModel } from '@pali/onnx/node';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { VisionEncoder } from './runner.js';
import { buildVisionGraph } from './vision-graph.js';

const work = mkdtempSync(join(tmpdir(), 'pali-siglip-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Max |a - b| relative to max |b|. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

describe.each(FIXTURE_MODELS)('SigLIP vision encoder of %s against HF transformers', (model) => {
  it('gives HF image_features (÷√H) for every golden image', async () => {
    const dir = fixtureModelDir(model);
    const config = parsePaliGemmaConfig(readFixtureJson(`models/${model}/config.json`));
    const reader = await openSafetensors(dir);
    const path = join(work, `${model}-vision.onnx`);
    try {
      await writeModel(buildVisionGraph(config, checkpointWeights(reader)), path);
    } finally {
      await reader.close();
    }
    const session = await ort.InferenceSession.create(path);
    const encoder = new VisionEncoder(session, ort.Tensor, config.visionConfig.imageSize);
    const names = readGoldenManifest().tensors.filter((t) => t.name.startsWith(`${model}/image_features/`));
    expect(names.length).toBeGreaterThan(0);
    const scale = Math.sqrt(config.textConfig.hiddenSize);
    for (const t of names) {
      const image = t.name.split('/').at(-1)!;
      const pixels = goldenTensor(`${model}/pixel_values/${image}`).data as Float32Array;
      const expected = goldenTensor(t.name).data as Float32Array;
      const { data, dims } = await encoder.encode(pixels, 1);
      expect(dims).toEqual([1, config.numImageTokens, config.textConfig.hiddenSize]);
      const rescaled = data.map((x) => x * scale);
      const err = relativeError(rescaled, expected);
      console.log(`[siglip parity] ${model} ${image}: max abs err / max abs = ${err.toExponential(2)}`);
      expect(err, `${model} ${image}`).toBeLessThan(1e-5);
    }
    await session.release();
  });
});
