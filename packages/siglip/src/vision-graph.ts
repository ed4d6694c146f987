import { GraphWeights, type PaliGemmaConfig, type WeightProvider } from '@pali/model-folder';
import {
  add,
  conv,
  div,
  GraphBuilder,
  gelu,
  layerNorm,
  multiHeadAttention,
  reshape,
  transpose,
  type Value,
} from '@pali/onnx';
import { linearFormat, type ModelDType, linear as quantizedLinear } from '@pali/quantize';

export interface VisionGraphOptions {
  /** Weight format of the Linear layers (attention, MLP, projector); default fp32. */
  dtype?: ModelDType;
  /**
   * Divide the features by √H as the onnx-community vision_encoder does (its decoder multiplies every
   * input embedding by √H). Default true: that is the model-folder contract.
   */
  scaleForDecoder?: boolean;
}

export const VISION_PREFIX = 'vision_tower.vision_model.';
export const PROJECTOR = 'multi_modal_projector.linear';

/** Input and output names of the vision encoder (REFERENCE.md §9). */
export const VISION_IO = { input: 'pixel_values', output: 'image_features' } as const;

/**
 * The SigLIP vision tower + post-LayerNorm + projector (REFERENCE.md §3) as an ONNX graph:
 * `pixel_values` [batch, 3, S, S] → `image_features` [batch, N, H]. Weights are lazy initializers,
 * read from `weights` when the model is written.
 */
export function buildVisionGraph(
  config: PaliGemmaConfig,
  weights: WeightProvider,
  options: VisionGraphOptions = {},
): GraphBuilder {
  const v = config.visionConfig;
  const hidden = v.hiddenSize;
  const side = v.imageSize / v.patchSize;
  const patches = side * side;
  const heads = v.numAttentionHeads;
  const headDim = hidden / heads;
  const g = new GraphBuilder({ name: 'siglip_vision_encoder', opset: 21 });
  const w = new GraphWeights(g, weights);
  const t = (name: string, dims: readonly number[]) => w.tensor(VISION_PREFIX + name, dims);
  const format = linearFormat(options.dtype ?? 'fp32');
  const linearAt = (x: Value, prefix: string, inF: number, outF: number) => {
    w.checkShape(`${prefix}.weight`, [outF, inF]);
    const bias = w.tensor(`${prefix}.bias`, [outF]);
    return quantizedLinear(x, prefix, () => weights.read(`${prefix}.weight`), { N: outF, K: inF }, format, {
      bias,
    });
  };
  const linear = (x: Value, name: string, inF: number, outF: number) =>
    linearAt(x, VISION_PREFIX + name, inF, outF);

  const pixels = g.input(VISION_IO.input, 'float32', ['batch_size', v.numChannels, v.imageSize, v.imageSize]);
  // Patch embedding: a stride-14 convolution, flattened row-major into [batch, N, hidden].
  const patchW = t('embeddings.patch_embedding.weight', [hidden, v.numChannels, v.patchSize, v.patchSize]);
  const patchB = t('embeddings.patch_embedding.bias', [hidden]);
  const conved = conv(pixels, patchW, patchB, { strides: [v.patchSize, v.patchSize] });
  let x = transpose(reshape(conved, [0, hidden, patches]), [0, 2, 1]);
  x = add(x, t('embeddings.position_embedding.weight', [patches, hidden]));

  for (let i = 0; i < v.numHiddenLayers; i++) {
    const p = `encoder.layers.${i}.`;
    const eps = { epsilon: v.layerNormEps, axis: -1 };
    const h1 = layerNorm(x, t(`${p}layer_norm1.weight`, [hidden]), t(`${p}layer_norm1.bias`, [hidden]), eps);
    const q = linear(h1, `${p}self_attn.q_proj`, hidden, hidden);
    const k = linear(h1, `${p}self_attn.k_proj`, hidden, hidden);
    const val = linear(h1, `${p}self_attn.v_proj`, hidden, hidden);
    const { output: attn } = multiHeadAttention(q, k, val, { numHeads: heads, scale: headDim ** -0.5 });
    x = add(x, linear(attn, `${p}self_attn.out_proj`, hidden, hidden));
    const h2 = layerNorm(x, t(`${p}layer_norm2.weight`, [hidden]), t(`${p}layer_norm2.bias`, [hidden]), eps);
    const up = gelu(linear(h2, `${p}mlp.fc1`, hidden, v.intermediateSize), 'tanh');
    x = add(x, linear(up, `${p}mlp.fc2`, v.intermediateSize, hidden));
  }
  x = layerNorm(x, t('post_layernorm.weight', [hidden]), t('post_layernorm.bias', [hidden]), {
    epsilon: v.layerNormEps,
    axis: -1,
  });
  let features = linearAt(x, PROJECTOR, hidden, config.projectionDim);
  if (options.scaleForDecoder !== false) {
    features = div(features, Math.sqrt(config.textConfig.hiddenSize));
  }
  g.output(features, VISION_IO.output);
  return g;
}
