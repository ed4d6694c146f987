// Test glue: the fixture checkpoints turned into vision + decoder sessions with the golden inputs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureModelDir, goldenTensor, readFixtureJson } from '@pali/fixtures';
import { checkpointWeights, type PaliGemmaConfig, parsePaliGemmaConfig } from '@pali/model-folder';
import { openSafetensors, writeModel } from '@pali/onnx/node';
import { buildVisionGraph, VisionEncoder } from '@pali/siglip';
import * as ort from 'onnxruntime-node';
import { type DecoderPrompt, DecoderRunner, type DecoderRunnerOptions } from '../decoder-runner.js';
import { buildDecoderGraph, type DecoderGraphOptions, TEXT_PREFIX } from '../graph/decoder-graph.js';

export interface FixturePipeline {
  config: PaliGemmaConfig;
  vision: VisionEncoder;
  decoderSession: ort.InferenceSession;
  embedding: Float32Array;
  newRunner(options?: DecoderRunnerOptions): DecoderRunner;
  /** inputs_embeds for golden input ids: image tokens from our vision encoder, text rows raw. */
  prompt(
    inputIds: Int32Array,
    batch: number,
    images: string[],
    mask: Int32Array,
    positions: Int32Array,
  ): Promise<DecoderPrompt>;
  release(): Promise<void>;
}

export async function fixturePipeline(
  model: string,
  options: DecoderGraphOptions = {},
): Promise<FixturePipeline> {
  const dir = mkdtempSync(join(tmpdir(), `pali-${model}-`));
  const config = parsePaliGemmaConfig(readFixtureJson(`models/${model}/config.json`));
  const reader = await openSafetensors(fixtureModelDir(model));
  const weights = checkpointWeights(reader);
  await writeModel(buildVisionGraph(config, weights), join(dir, 'vision.onnx'));
  await writeModel(buildDecoderGraph(config, weights, options), join(dir, 'decoder.onnx'));
  const embedding = await weights.read(`${TEXT_PREFIX}embed_tokens.weight`);
  await reader.close();
  const H = config.textConfig.hiddenSize;
  const visionSession = await ort.InferenceSession.create(join(dir, 'vision.onnx'));
  const decoderSession = await ort.InferenceSession.create(join(dir, 'decoder.onnx'));
  const vision = new VisionEncoder(visionSession, ort.Tensor, config.visionConfig.imageSize);
  const embedRows = async (ids: Int32Array) => {
    const out = new Float32Array(ids.length * H);
    for (let i = 0; i < ids.length; i++) out.set(embedding.subarray(ids[i]! * H, (ids[i]! + 1) * H), i * H);
    return out;
  };
  return {
    config,
    vision,
    decoderSession,
    embedding,
    newRunner: (runnerOptions) =>
      new DecoderRunner(decoderSession, ort.Tensor, config.textConfig, embedRows, runnerOptions),
    async prompt(inputIds, batch, images, mask, positions) {
      const length = inputIds.length / batch;
      const embeds = await embedRows(inputIds.map((id) => (id === config.imageTokenIndex ? 0 : id)));
      for (let b = 0; b < batch; b++) {
        const pixels = goldenTensor(`${model}/pixel_values/${images[b]}`).data as Float32Array;
        const { data: features } = await vision.encode(pixels, 1);
        let k = 0;
        for (let i = 0; i < length; i++) {
          if (inputIds[b * length + i] !== config.imageTokenIndex) continue;
          embeds.set(features.subarray(k * H, (k + 1) * H), (b * length + i) * H);
          k++;
        }
        if (k !== config.numImageTokens) throw new Error(`row ${b} has ${k} image tokens`);
      }
      return { inputsEmbeds: embeds, batch, length, attentionMask: mask, positionIds: positions };
    },
    async release() {
      await visionSession.release();
      await decoderSession.release();
    },
  };
}
