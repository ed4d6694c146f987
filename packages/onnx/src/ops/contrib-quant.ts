// Quantized-weight contrib ops: MatMulNBits, GatherBlockQuantized, DynamicQuantizeMatMul.
import { attr, checkAttr } from '../graph/attributes.js';
import type { Value } from '../graph/graph-builder.js';
import { dimProduct, dimsCompatible, graphError, normAxis } from '../graph/shape.js';
import { begin, expectDType, FLOAT16_32, INDEX, MS_DOMAIN, type OpOptions, sameDType } from './common.js';

export interface MatMulNBitsOptions extends OpOptions {
  /** Columns of the unquantized weight's input (A's last dim). */
  K: number;
  /** Output features. */
  N: number;
  bits: 4 | 8;
  /** Power of two ≥ 16. */
  blockSize: number;
  /** 0 (unset), 1 fp32, 2 fp16, 3 bf16, 4 int8 compute; 4 is the fast path on CPU. */
  accuracyLevel?: 0 | 1 | 2 | 3 | 4;
  /** uint8 packed zero points (ceil(kBlocks·bits/8) bytes per row) or zero points as A's dtype. */
  zeroPoints?: Value;
  bias?: Value;
}

/**
 * MatMulNBits: Y = A · dequant(B)ᵀ with B quantized along K in blocks. B is uint8
 * [N, ceil(K/blockSize), blockSize·bits/8] (low nibble first); scales [N·kBlocks] in A's dtype.
 */
export function matMulNBits(a: Value, b: Value, scales: Value, o: MatMulNBitsOptions): Value {
  const { g, name } = begin('MatMulNBits', [a, b, scales, o.zeroPoints, o.bias], o);
  expectDType(name, 'A', a, FLOAT16_32);
  expectDType(name, 'B', b, ['uint8']);
  sameDType(name, [
    ['A', a],
    ['scales', scales],
    ['bias', o.bias],
  ]);
  checkAttr(name, 'bits', o.bits === 4 || o.bits === 8, '4 or 8', o.bits);
  checkAttr(
    name,
    'block_size',
    Number.isInteger(o.blockSize) && o.blockSize >= 16 && (o.blockSize & (o.blockSize - 1)) === 0,
    'a power of two ≥ 16',
    o.blockSize,
  );
  checkAttr(name, 'K', Number.isInteger(o.K) && o.K > 0, 'a positive int', o.K);
  checkAttr(name, 'N', Number.isInteger(o.N) && o.N > 0, 'a positive int', o.N);
  checkAttr(
    name,
    'accuracy_level',
    [undefined, 0, 1, 2, 3, 4].includes(o.accuracyLevel),
    '0..4',
    o.accuracyLevel,
  );
  const kBlocks = Math.ceil(o.K / o.blockSize);
  const blob = (o.blockSize * o.bits) / 8;
  if (b.shape && dimProduct(b.shape) !== null && dimProduct(b.shape) !== o.N * kBlocks * blob)
    throw graphError(name, `B has shape [${b.shape.join(', ')}], expected [${o.N}, ${kBlocks}, ${blob}]`);
  if (scales.shape && dimProduct(scales.shape) !== null && dimProduct(scales.shape) !== o.N * kBlocks)
    throw graphError(
      name,
      `scales has ${dimProduct(scales.shape)} elements, expected N·kBlocks = ${o.N * kBlocks}`,
    );
  if (o.zeroPoints?.shape && dimProduct(o.zeroPoints.shape) !== null) {
    const n = dimProduct(o.zeroPoints.shape)!;
    const want = o.zeroPoints.dtype === 'uint8' ? o.N * Math.ceil((kBlocks * o.bits) / 8) : o.N * kBlocks;
    if (n !== want) throw graphError(name, `zero_points has ${n} elements, expected ${want}`);
    if (o.zeroPoints.dtype !== 'uint8' && o.zeroPoints.dtype !== a.dtype)
      throw graphError(name, `zero_points must be uint8 or ${a.dtype}, got ${o.zeroPoints.dtype}`);
  }
  const k = a.shape?.[a.shape.length - 1];
  if (k !== undefined && !dimsCompatible(k, o.K))
    throw graphError(name, `A has K=${k}, the attribute says ${o.K}`);
  const shape = a.shape ? [...a.shape.slice(0, -1), o.N] : null;
  return g.addNode({
    opType: 'MatMulNBits',
    domain: MS_DOMAIN,
    inputs: [a, b, scales, o.zeroPoints, null, o.bias],
    attrs: {
      K: attr.int(o.K),
      N: attr.int(o.N),
      bits: attr.int(o.bits),
      block_size: attr.int(o.blockSize),
      accuracy_level: attr.optInt(o.accuracyLevel),
    },
    outputs: [{ dtype: a.dtype, shape }],
    name,
  })[0]!;
}

export interface GatherBlockQuantizedOptions extends OpOptions {
  gatherAxis?: number;
  /** Must be the last axis for uint8-packed data. */
  quantizeAxis?: number;
  blockSize: number;
  bits?: 4 | 8;
  zeroPoints?: Value;
}

/**
 * GatherBlockQuantized: Gather on a block-quantized table (e.g. a 4-bit embedding). With uint8 data and
 * bits 4 the table is [rows, K/2] packed like MatMulNBits (default zero point 8); scales are
 * [rows, K/blockSize] in the output dtype.
 */
export function gatherBlockQuantized(
  data: Value,
  indices: Value,
  scales: Value,
  o: GatherBlockQuantizedOptions,
): Value {
  const { g, name } = begin('GatherBlockQuantized', [data, indices, scales, o.zeroPoints], o);
  expectDType(name, 'data', data, ['uint8', 'int4', 'uint4']);
  expectDType(name, 'indices', indices, INDEX);
  expectDType(name, 'scales', scales, ['float32', 'float16', 'bfloat16']);
  const bits = o.bits ?? 4;
  checkAttr(name, 'bits', bits === 4 || bits === 8, '4 or 8', bits);
  checkAttr(
    name,
    'block_size',
    Number.isInteger(o.blockSize) && o.blockSize >= 16 && (o.blockSize & (o.blockSize - 1)) === 0,
    'a power of two ≥ 16',
    o.blockSize,
  );
  if (o.zeroPoints && o.zeroPoints.dtype !== data.dtype)
    throw graphError(name, `zero_points must have data's dtype ${data.dtype}, got ${o.zeroPoints.dtype}`);
  let shape = null;
  if (data.shape && indices.shape) {
    const rank = data.shape.length;
    const ga = normAxis(name, o.gatherAxis ?? 0, rank);
    const qa = normAxis(name, o.quantizeAxis ?? rank - 1, rank);
    const logical = [...data.shape];
    if (data.dtype === 'uint8') {
      if (qa !== rank - 1) throw graphError(name, 'uint8 data needs quantize_axis = the last axis');
      const last = logical[rank - 1]!;
      logical[rank - 1] = typeof last === 'number' ? (last * 8) / bits : null;
    }
    const qd = logical[qa];
    const sd = scales.shape?.[qa];
    if (typeof qd === 'number' && typeof sd === 'number' && Math.ceil(qd / o.blockSize) !== sd)
      throw graphError(
        name,
        `scales has ${sd} blocks on axis ${qa}, expected ${Math.ceil(qd / o.blockSize)}`,
      );
    shape = [...logical.slice(0, ga), ...indices.shape, ...logical.slice(ga + 1)];
  }
  return g.addNode({
    opType: 'GatherBlockQuantized',
    domain: MS_DOMAIN,
    inputs: [data, indices, scales, o.zeroPoints],
    attrs: {
      gather_axis: attr.optInt(o.gatherAxis),
      quantize_axis: attr.optInt(o.quantizeAxis),
      block_size: attr.int(o.blockSize),
      bits: o.bits === undefined ? undefined : attr.int(o.bits),
    },
    outputs: [{ dtype: scales.dtype, shape }],
    name,
  })[0]!;
}

export interface DynamicQuantizeMatMulOptions extends OpOptions {
  bZeroPoint?: Value;
  bias?: Value;
}

/**
 * DynamicQuantizeMatMul: A (float32) is quantized to uint8 per tensor at run time, then multiplied by
 * B (int8/uint8 [K, N]) with scale bScale ([1] or [N]).
 */
export function dynamicQuantizeMatMul(
  a: Value,
  b: Value,
  bScale: Value,
  o: DynamicQuantizeMatMulOptions = {},
): Value {
  const { g, name } = begin('DynamicQuantizeMatMul', [a, b, bScale, o.bZeroPoint, o.bias], o);
  expectDType(name, 'A', a, ['float32']);
  expectDType(name, 'B', b, ['int8', 'uint8']);
  sameDType(name, [
    ['A', a],
    ['b_scale', bScale],
    ['bias', o.bias],
  ]);
  if (o.bZeroPoint && o.bZeroPoint.dtype !== b.dtype)
    throw graphError(name, `b_zero_point must be ${b.dtype}, got ${o.bZeroPoint.dtype}`);
  if (b.shape && b.shape.length !== 2) throw graphError(name, 'B must be 2-D [K, N]');
  const k = a.shape?.[a.shape.length - 1];
  if (b.shape && k !== undefined && !dimsCompatible(k, b.shape[0]!))
    throw graphError(name, `A has K=${k} but B has ${b.shape[0]} rows`);
  const shape = a.shape && b.shape ? [...a.shape.slice(0, -1), b.shape[1]!] : null;
  return g.addNode({
    opType: 'DynamicQuantizeMatMul',
    domain: MS_DOMAIN,
    inputs: [a, b, bScale, o.bZeroPoint, o.bias],
    outputs: [{ dtype: 'float32', shape }],
    name,
  })[0]!;
}
