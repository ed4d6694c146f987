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
  split,
  transpose,
  type Value,
} from '@pali/onnx';
import { linearFormat, type ModelDType, linear as quantizedLinear, withBlockSize } from '@pali/quantize';

export interface VisionGraphOptions {
  /** Weight format of the Linear layers (attention, MLP, projector); default fp32. */
  dtype?: ModelDType;
  /** Block size of blockwise formats (q4, q4f16); default 32. */
  blockSize?: number;
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
  const format = withBlockSize(linearFormat(options.dtype ?? 'fp32'), options.blockSize);
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

  const eps = { epsilon: v.layerNormEps, axis: -1 };
  const lnW = (name: string) => t(`${name}.weight`, [hidden]);
  const lnB = (name: string) => t(`${name}.bias`, [hidden]);
  // A Linear whose bias is left for the fused residual-add + LayerNorm that follows it.
  const matmulOnly = (x: Value, name: string, inF: number, outF: number) => {
    const prefix = VISION_PREFIX + name;
    w.checkShape(`${prefix}.weight`, [outF, inF]);
    return quantizedLinear(x, prefix, () => weights.read(`${prefix}.weight`), { N: outF, K: inF }, format);
  };
  // q, k and v as one matmul (weights and biases stacked by rows), then split.
  const qkv = (x: Value, p: string) => {
    const names = ['q_proj', 'k_proj', 'v_proj'].map((n) => `${VISION_PREFIX}${p}self_attn.${n}`);
    for (const n of names) w.checkShape(`${n}.weight`, [hidden, hidden]);
    const stack = async (suffix: string, size: number) => {
      const out = new Float32Array(3 * size);
      for (const [j, n] of names.entries()) out.set(await weights.read(`${n}.${suffix}`), j * size);
      return out;
    };
    for (const n of names) w.checkShape(`${n}.bias`, [hidden]);
    const bias = g.lazyInitializer(
      `${VISION_PREFIX}${p}self_attn.qkv_proj.bias`,
      'float32',
      [3 * hidden],
      () => stack('bias', hidden),
    );
    const y = quantizedLinear(
      x,
      `${VISION_PREFIX}${p}self_attn.qkv_proj`,
      () => stack('weight', hidden * hidden),
      { N: 3 * hidden, K: hidden },
      format,
      { bias },
    );
    return split(y, [hidden, hidden, hidden], -1) as [Value, Value, Value];
  };

  // Residual add (with the Linear's bias), then the LayerNorm that follows, as plain nodes: ORT
  // 1.30's CPU SkipLayerNormalization took ~5× as long as Add + LayerNormalization at these shapes
  // (54 norms of [256, 1152]: 44-47 against 7-11 ms).
  const residualNorm = (y: Value, bias: Value, skip: Value, norm: string) => {
    const sum = add(add(y, bias), skip);
    return { sum, output: layerNorm(sum, lnW(norm), lnB(norm), eps) };
  };
  let h = layerNorm(x, lnW('encoder.layers.0.layer_norm1'), lnB('encoder.layers.0.layer_norm1'), eps);
  for (let i = 0; i < v.numHiddenLayers; i++) {
    const p = `encoder.layers.${i}.`;
    const [q, k, val] = qkv(h, p);
    const { output: attn } = multiHeadAttention(q, k, val, { numHeads: heads, scale: headDim ** -0.5 });
    const afterAttn = residualNorm(
      matmulOnly(attn, `${p}self_attn.out_proj`, hidden, hidden),
      t(`${p}self_attn.out_proj.bias`, [hidden]),
      x,
      `${p}layer_norm2`,
    );
    x = afterAttn.sum;
    const up = gelu(linear(afterAttn.output, `${p}mlp.fc1`, hidden, v.intermediateSize), 'tanh');
    // The next LayerNorm: the next layer's layer_norm1, or post_layernorm after the last layer.
    const nextNorm = i + 1 < v.numHiddenLayers ? `encoder.layers.${i + 1}.layer_norm1` : 'post_layernorm';
    const afterMlp = residualNorm(
      matmulOnly(up, `${p}mlp.fc2`, v.intermediateSize, hidden),
      t(`${p}mlp.fc2.bias`, [hidden]),
      x,
      nextNorm,
    );
    x = afterMlp.sum;
    h = afterMlp.output;
  }
  x = h;
  let features = linearAt(x, PROJECTOR, hidden, config.projectionDim);
  if (options.scaleForDecoder !== false) {
    features = div(features, Math.sqrt(config.textConfig.hiddenSize));
  }
  g.output(features, VISION_IO.output);
  return g;
}
