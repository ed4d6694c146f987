import { ERROR_CODES, PaliError } from '@pali/errors';
import type { PaliGemmaConfig, WeightProvider } from '@pali/model-folder';
import {
  add,
  conv,
  div,
  GraphBuilder,
  gelu,
  layerNorm,
  matMul,
  multiHeadAttention,
  reshape,
  transpose,
  type Value,
} from '@pali/onnx';
import { PROJECTOR_PREFIX, transpose2d, VISION_PREFIX } from './weights.js';

export interface VisionGraphOptions {
  /**
   * Divide the features by √H as the onnx-community vision_encoder does (its decoder multiplies every
   * input embedding by √H). Default true: that is the model-folder contract.
   */
  scaleForDecoder?: boolean;
}

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
  const w = new Weights(g, weights);

  const pixels = g.input(VISION_IO.input, 'float32', ['batch', v.numChannels, v.imageSize, v.imageSize]);
  // Patch embedding: a stride-14 convolution, flattened row-major into [batch, N, hidden].
  const patchW = w.tensor('embeddings.patch_embedding.weight', [
    hidden,
    v.numChannels,
    v.patchSize,
    v.patchSize,
  ]);
  const patchB = w.tensor('embeddings.patch_embedding.bias', [hidden]);
  const conved = conv(pixels, patchW, patchB, { strides: [v.patchSize, v.patchSize] });
  let x = transpose(reshape(conved, [0, hidden, patches]), [0, 2, 1]);
  x = add(x, w.tensor('embeddings.position_embedding.weight', [patches, hidden]));

  for (let i = 0; i < v.numHiddenLayers; i++) {
    const p = `encoder.layers.${i}.`;
    const eps = { epsilon: v.layerNormEps, axis: -1 };
    const h1 = layerNorm(
      x,
      w.tensor(`${p}layer_norm1.weight`, [hidden]),
      w.tensor(`${p}layer_norm1.bias`, [hidden]),
      eps,
    );
    const q = w.linear(h1, `${p}self_attn.q_proj`, hidden, hidden);
    const k = w.linear(h1, `${p}self_attn.k_proj`, hidden, hidden);
    const val = w.linear(h1, `${p}self_attn.v_proj`, hidden, hidden);
    const { output: attn } = multiHeadAttention(q, k, val, { numHeads: heads, scale: headDim ** -0.5 });
    x = add(x, w.linear(attn, `${p}self_attn.out_proj`, hidden, hidden));
    const h2 = layerNorm(
      x,
      w.tensor(`${p}layer_norm2.weight`, [hidden]),
      w.tensor(`${p}layer_norm2.bias`, [hidden]),
      eps,
    );
    const up = gelu(w.linear(h2, `${p}mlp.fc1`, hidden, v.intermediateSize), 'tanh');
    x = add(x, w.linear(up, `${p}mlp.fc2`, v.intermediateSize, hidden));
  }
  x = layerNorm(x, w.tensor('post_layernorm.weight', [hidden]), w.tensor('post_layernorm.bias', [hidden]), {
    epsilon: v.layerNormEps,
    axis: -1,
  });
  let features = w.linear(x, PROJECTOR_PREFIX.slice(0, -1), hidden, config.projectionDim, '');
  if (options.scaleForDecoder !== false) {
    features = div(features, Math.sqrt(config.textConfig.hiddenSize));
  }
  g.output(features, VISION_IO.output);
  return g;
}

/** Declares checkpoint tensors as lazy initializers after checking their shapes. */
class Weights {
  constructor(
    private readonly g: GraphBuilder,
    private readonly source: WeightProvider,
  ) {}

  private checked(name: string, expected: readonly number[]): void {
    const actual = this.source.shape(name);
    if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
      throw new PaliError(
        ERROR_CODES.SHAPE_MISMATCH,
        `Checkpoint tensor ${name} has shape [${actual.join(', ')}], config.json implies [${expected.join(', ')}]`,
        { hint: 'The weights do not belong to this config.json', details: { tensor: name } },
      );
    }
  }

  /** A vision tensor as is (prefix added). */
  tensor(relative: string, dims: readonly number[], prefix = VISION_PREFIX): Value {
    const name = prefix + relative;
    this.checked(name, dims);
    return this.g.lazyInitializer(name, 'float32', dims, () => this.source.read(name));
  }

  /** x · Wᵀ + b for a Linear stored [out, in]; the weight is transposed once, at write time. */
  linear(x: Value, relative: string, inFeatures: number, outFeatures: number, prefix = VISION_PREFIX): Value {
    const name = `${prefix}${relative}.weight`;
    this.checked(name, [outFeatures, inFeatures]);
    const weight = this.g.lazyInitializer(`${name}.T`, 'float32', [inFeatures, outFeatures], async () =>
      transpose2d(await this.source.read(name), outFeatures, inFeatures),
    );
    return add(matMul(x, weight), this.tensor(`${relative}.bias`, [outFeatures], prefix));
  }
}
