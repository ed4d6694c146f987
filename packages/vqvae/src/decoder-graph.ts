import {
  add,
  conv,
  convTranspose,
  GraphBuilder,
  gather,
  relu,
  reshape,
  transpose,
  type Value,
} from '@pali/onnx';
import {
  CODES_PER_MASK,
  type ConvWeights,
  MASK_SIDE,
  RES_BLOCKS,
  UPSAMPLES,
  type VqvaeWeights,
} from './weights.js';

/** Input and output names of the mask decoder graph. */
export const MASK_DECODER_IO = { input: 'codes', output: 'logits' } as const;

/**
 * big_vision's VQ-VAE mask decoder (its Flax `Decoder`, REFERENCE.md §7) as an ONNX graph:
 * `codes` int64 [batch, 16] → `logits` float32 [batch, 64, 64].
 * The 16 codebook rows form a 4×4×D grid row-major (NHWC), transposed to NCHW for ONNX Conv.
 * Flax's ConvTranspose(k4, s2, padding=2, transpose_kernel=True) on the PyTorch weight is ONNX
 * ConvTranspose with pads 1 (4 → 8 → 16 → 32 → 64).
 */
export function buildMaskDecoderGraph(w: VqvaeWeights): GraphBuilder {
  const g = new GraphBuilder({ name: 'vqvae_mask_decoder', opset: 21 });
  const init = (name: string, dims: readonly number[], data: Float32Array) =>
    g.initializer(name, 'float32', dims, data);
  const convValues = (name: string, c: ConvWeights) => ({
    weight: init(`${name}.weight`, c.weightDims, c.weight),
    bias: init(`${name}.bias`, [c.bias.length], c.bias),
  });
  const conv2d = (x: Value, name: string, c: ConvWeights, pad: number) => {
    const { weight, bias } = convValues(name, c);
    return conv(x, weight, bias, pad > 0 ? { pads: [pad, pad, pad, pad] } : {});
  };

  const codes = g.input(MASK_DECODER_IO.input, 'int64', ['batch', CODES_PER_MASK]);
  const codebook = init('_vq_vae._embedding', [w.codebook.length / w.embedDim, w.embedDim], w.codebook);
  const grid = reshape(gather(codebook, codes, 0), [0, 4, 4, w.embedDim]);
  let x = transpose(grid, [0, 3, 1, 2]);
  x = relu(conv2d(x, 'decoder.0', w.input, 0));
  w.resBlocks.forEach(([c0, c2, c4], i) => {
    const name = RES_BLOCKS[i]!;
    let h = relu(conv2d(x, `${name}.0`, c0, 1));
    h = relu(conv2d(h, `${name}.2`, c2, 1));
    x = add(x, conv2d(h, `${name}.4`, c4, 0)); // no ReLU after the skip sum
  });
  w.upsamples.forEach((c, i) => {
    const { weight, bias } = convValues(UPSAMPLES[i]!, c);
    x = relu(convTranspose(x, weight, bias, { strides: [2, 2], pads: [1, 1, 1, 1] }));
  });
  x = conv2d(x, 'decoder.12', w.output, 0);
  g.output(reshape(x, [-1, MASK_SIDE, MASK_SIDE]), MASK_DECODER_IO.output);
  return g;
}
