// x · Wᵀ (+ b) for a Linear weight [out, in] in any WeightFormat: the one call a graph builder makes in
// place of `add(matMul(x, w_T), b)`.
import { ERROR_CODES, PaliError } from '@pali/errors';
import { add, dynamicQuantizeMatMul, matMul, matMulNBits, type Value } from '@pali/onnx';
import { castOnce } from './float16.js';
import { computeDType, type WeightFormat } from './formats.js';
import {
  blockwiseWeight,
  checkDims,
  floatWeight,
  type LinearDims,
  nf4Weight,
  perChannelWeight,
} from './initializers.js';
import type { WeightSource } from './lazy.js';
import { matMulBnb4 } from './ops.js';

export interface LinearOptions {
  /** Added to the output; float32 or float16 like x. */
  bias?: Value;
}

/**
 * `x [..., K] → [..., N]` with the weight stored as `format` says. The weight is read from `weight`
 * (the Linear layout [N, K]) and quantized only when the model is written. The output has x's dtype;
 * a float16 format casts x (once per value) and casts the product back. Initializers are named after
 * `name` (`<name>.T`, `<name>.q4`, `<name>.scales`, …), and so is the node.
 */
export function linear(
  x: Value,
  name: string,
  weight: WeightSource,
  dims: LinearDims,
  format: WeightFormat,
  options: LinearOptions = {},
): Value {
  const g = x.graph;
  const { N, K } = dims;
  checkDims(name, N, K);
  if (x.dtype !== 'float32' && x.dtype !== 'float16')
    throw new PaliError(
      ERROR_CODES.GRAPH_ERROR,
      `Linear ${name}: x must be float32 or float16, got ${x.dtype}`,
    );
  const { bias } = options;
  if (bias && bias.dtype !== x.dtype)
    throw new PaliError(
      ERROR_CODES.GRAPH_ERROR,
      `Linear ${name}: bias is ${bias.dtype} but x is ${x.dtype}`,
      {
        hint: 'Give the bias the dtype of x',
      },
    );
  const compute = computeDType(format);
  const a = castOnce(x, compute);
  // Bias goes into the op when it takes one in the compute dtype; otherwise it is added afterwards.
  const fuse = bias !== undefined && bias.dtype === compute;
  let y: Value;
  let fused = false;
  switch (format.kind) {
    case 'float32':
    case 'float16':
      y = matMul(a, floatWeight(g, name, weight, dims, compute), { name: `${name}.matmul` });
      break;
    case 'blockwise': {
      const w = blockwiseWeight(g, name, weight, dims, format);
      y = matMulNBits(a, w.B, w.scales, {
        K,
        N,
        bits: format.bits,
        blockSize: format.blockSize,
        accuracyLevel: format.accuracyLevel ?? 4,
        zeroPoints: w.zeroPoints,
        bias: fuse ? bias : undefined,
        name: `${name}.matmul`,
      });
      fused = fuse;
      break;
    }
    case 'int8': {
      const w = perChannelWeight(g, name, weight, dims, format.symmetric ?? true);
      y = dynamicQuantizeMatMul(a, w.B, w.scale, {
        bZeroPoint: w.zeroPoint,
        bias: fuse ? bias : undefined,
        name: `${name}.matmul`,
      });
      fused = fuse;
      break;
    }
    case 'nf4': {
      const w = nf4Weight(g, name, weight, dims, format.blockSize);
      y = matMulBnb4(a, w.B, w.absmax, {
        K,
        N,
        blockSize: format.blockSize,
        quantType: 1,
        name: `${name}.matmul`,
      });
      break;
    }
    default:
      throw new PaliError(
        ERROR_CODES.INVALID_ARGUMENT,
        `Linear ${name}: unknown weight format ${JSON.stringify(format)}`,
        {
          hint: 'Use linearFormat(dtype) or a WeightFormat with kind float32, float16, blockwise, int8 or nf4',
        },
      );
  }
  if (y.dtype !== x.dtype) y = castOnce(y, x.dtype as 'float32' | 'float16');
  return bias && !fused ? add(y, bias) : y;
}
