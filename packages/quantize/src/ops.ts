// com.microsoft MatMulBnb4 (not in @pali/onnx): Y = A · dequant(B)ᵀ with B NF4/FP4 in flat blocks.

import { ERROR_CODES, PaliError } from '@pali/errors';
import { attr, MS_DOMAIN, type Value } from '@pali/onnx';

export interface MatMulBnb4Options {
  K: number;
  N: number;
  blockSize: number;
  /** 0 FP4, 1 NF4. */
  quantType: 0 | 1;
  name?: string;
}

export function matMulBnb4(a: Value, b: Value, absmax: Value, o: MatMulBnb4Options): Value {
  const g = a.graph;
  const name = o.name ?? g.uniqueName('MatMulBnb4');
  const bad = (msg: string) =>
    new PaliError(ERROR_CODES.GRAPH_ERROR, `Node "${name}": ${msg}`, {
      hint: 'Pass the outputs of quantizeNf4',
    });
  if (a.dtype !== 'float32' && a.dtype !== 'float16')
    throw bad(`A must be float32 or float16, got ${a.dtype}`);
  if (b.dtype !== 'uint8') throw bad(`B must be uint8, got ${b.dtype}`);
  if (absmax.dtype !== a.dtype) throw bad(`absmax is ${absmax.dtype} but A is ${a.dtype}`);
  const numel = o.N * o.K;
  if (b.shape && b.shape.length === 1 && b.shape[0] !== Math.ceil(numel / 2))
    throw bad(`B has ${b.shape[0]} bytes, expected ${Math.ceil(numel / 2)}`);
  if (absmax.shape && absmax.shape.length === 1 && absmax.shape[0] !== Math.ceil(numel / o.blockSize))
    throw bad(`absmax has ${absmax.shape[0]} values, expected ${Math.ceil(numel / o.blockSize)}`);
  const k = a.shape?.[a.shape.length - 1];
  if (typeof k === 'number' && k !== o.K) throw bad(`A has K=${k}, the attribute says ${o.K}`);
  return g.addNode({
    opType: 'MatMulBnb4',
    domain: MS_DOMAIN,
    inputs: [a, b, absmax],
    attrs: {
      K: attr.int(o.K),
      N: attr.int(o.N),
      block_size: attr.int(o.blockSize),
      quant_type: attr.int(o.quantType),
    },
    outputs: [{ dtype: a.dtype, shape: a.shape ? [...a.shape.slice(0, -1), o.N] : null }],
    name,
  })[0]!;
}
