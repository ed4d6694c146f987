import type { DType } from '../dtype.js';
import { attr, checkAttr } from '../graph/attributes.js';
import type { Value } from '../graph/graph-builder.js';
import {
  broadcastShapes,
  type Dim,
  dimsCompatible,
  graphError,
  normAxis,
  type Shape,
} from '../graph/shape.js';
import {
  begin,
  expectDType,
  expectRank,
  FLOATS,
  int64s,
  NUMERIC,
  type OpOptions,
  sameDType,
} from './common.js';

/** MatMul with numpy semantics (batch dims broadcast). */
export function matMul(a: Value, b: Value, opts?: OpOptions): Value {
  const { g, name } = begin('MatMul', [a, b], opts);
  const dtype = sameDType(name, [
    ['A', a],
    ['B', b],
  ]);
  expectDType(name, 'A', a, FLOATS);
  return g.addNode({
    opType: 'MatMul',
    inputs: [a, b],
    outputs: [{ dtype, shape: matMulShape(name, a.shape, b.shape) }],
    name,
  })[0]!;
}

export function matMulShape(node: string, a: Shape, b: Shape): Shape {
  if (!a || !b) return null;
  if (a.length === 0 || b.length === 0) throw graphError(node, 'MatMul inputs must have rank ≥ 1');
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const k1 = a2[a2.length - 1]!;
  const k2 = b2[b2.length - 2]!;
  if (!dimsCompatible(k1, k2)) throw graphError(node, `inner dims differ: A has K=${k1}, B has K=${k2}`);
  const batch = broadcastShapes(node, [a2.slice(0, -2), b2.slice(0, -2)])!;
  const out: Dim[] = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]!);
  if (b.length > 1) out.push(b2[b2.length - 1]!);
  return out;
}

export interface GemmOptions extends OpOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

/** Gemm: alpha·A'·B' + beta·C for 2-D A and B. */
export function gemm(a: Value, b: Value, c?: Value, o: GemmOptions = {}): Value {
  const { g, name } = begin('Gemm', [a, b, c], o);
  const dtype = sameDType(name, [
    ['A', a],
    ['B', b],
    ['C', c],
  ]);
  expectDType(name, 'A', a, FLOATS);
  expectRank(name, 'A', a, [2]);
  expectRank(name, 'B', b, [2]);
  let shape: Shape = null;
  if (a.shape && b.shape) {
    const [m, k1] = o.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [k2, n] = o.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (!dimsCompatible(k1, k2)) throw graphError(name, `inner dims differ: ${k1} vs ${k2}`);
    shape = [m, n];
    if (c) broadcastShapes(name, [shape, c.shape]);
  }
  return g.addNode({
    opType: 'Gemm',
    inputs: [a, b, c],
    attrs: {
      transA: attr.optBool(o.transA),
      transB: attr.optBool(o.transB),
      alpha: attr.optFloat(o.alpha),
      beta: attr.optFloat(o.beta),
    },
    outputs: [{ dtype, shape }],
    name,
  })[0]!;
}

export interface ConvOptions extends OpOptions {
  strides?: readonly number[];
  /** [begin..., end...] per spatial axis. */
  pads?: readonly number[];
  dilations?: readonly number[];
  group?: number;
}

function spatialDefaults(name: string, n: number, o: ConvOptions) {
  const strides = o.strides ?? new Array(n).fill(1);
  const dil = o.dilations ?? new Array(n).fill(1);
  const pads = o.pads ?? new Array(2 * n).fill(0);
  checkAttr(
    name,
    'strides',
    strides.length === n && strides.every((s) => s >= 1),
    `${n} positive ints`,
    strides,
  );
  checkAttr(name, 'dilations', dil.length === n && dil.every((s) => s >= 1), `${n} positive ints`, dil);
  checkAttr(
    name,
    'pads',
    pads.length === 2 * n && pads.every((s) => s >= 0),
    `${2 * n} non-negative ints`,
    pads,
  );
  return { strides, dil, pads };
}

/** Conv: X [N, C, ...spatial], W [M, C/group, ...kernel]. */
export function conv(x: Value, w: Value, b?: Value, o: ConvOptions = {}): Value {
  const { g, name } = begin('Conv', [x, w, b], o);
  const dtype = sameDType(name, [
    ['X', x],
    ['W', w],
    ['B', b],
  ]);
  expectDType(name, 'X', x, FLOATS);
  const group = o.group ?? 1;
  let shape: Shape = null;
  if (x.shape && w.shape) {
    if (x.shape.length !== w.shape.length || x.shape.length < 3)
      throw graphError(name, `X rank ${x.shape.length} and W rank ${w.shape.length} must match and be ≥ 3`);
    const n = x.shape.length - 2;
    const { strides, dil, pads } = spatialDefaults(name, n, o);
    const c = x.shape[1]!;
    const wc = w.shape[1]!;
    if (typeof c === 'number' && typeof wc === 'number' && c !== wc * group)
      throw graphError(name, `X has ${c} channels but W expects ${wc} × group ${group}`);
    const out: Dim[] = [x.shape[0]!, w.shape[0]!];
    for (let i = 0; i < n; i++) {
      const d = x.shape[i + 2]!;
      const k = w.shape[i + 2]!;
      out.push(
        typeof d === 'number' && typeof k === 'number'
          ? Math.floor((d + pads[i]! + pads[i + n]! - dil[i]! * (k - 1) - 1) / strides[i]!) + 1
          : null,
      );
    }
    shape = out;
  }
  // Spatial attributes are always written when the rank is known: ORT's WebGPU Conv refuses a node
  // without dilations ("dilations should be 2D").
  const rank = x.shape?.length ?? w.shape?.length;
  const spatial = rank !== undefined ? rank - 2 : undefined;
  return g.addNode({
    opType: 'Conv',
    inputs: [x, w, b],
    attrs: {
      strides: o.strides ? attr.ints(o.strides) : spatial ? attr.ints(new Array(spatial).fill(1)) : undefined,
      pads: o.pads ? attr.ints(o.pads) : undefined,
      dilations: o.dilations
        ? attr.ints(o.dilations)
        : spatial
          ? attr.ints(new Array(spatial).fill(1))
          : undefined,
      group: attr.optInt(o.group),
    },
    outputs: [{ dtype, shape }],
    name,
  })[0]!;
}

export interface ConvTransposeOptions extends ConvOptions {
  outputPadding?: readonly number[];
}

/** ConvTranspose: X [N, C, ...], W [C, M/group, ...kernel]. */
export function convTranspose(x: Value, w: Value, b?: Value, o: ConvTransposeOptions = {}): Value {
  const { g, name } = begin('ConvTranspose', [x, w, b], o);
  const dtype = sameDType(name, [
    ['X', x],
    ['W', w],
    ['B', b],
  ]);
  expectDType(name, 'X', x, FLOATS);
  const group = o.group ?? 1;
  let shape: Shape = null;
  if (x.shape && w.shape) {
    if (x.shape.length !== w.shape.length || x.shape.length < 3)
      throw graphError(name, `X rank ${x.shape.length} and W rank ${w.shape.length} must match and be ≥ 3`);
    const n = x.shape.length - 2;
    const { strides, dil, pads } = spatialDefaults(name, n, o);
    const op = o.outputPadding ?? new Array(n).fill(0);
    checkAttr(name, 'output_padding', op.length === n, `${n} ints`, op);
    const c = x.shape[1]!;
    if (typeof c === 'number' && typeof w.shape[0] === 'number' && c !== w.shape[0])
      throw graphError(name, `X has ${c} channels but W has ${w.shape[0]} input channels`);
    const m = w.shape[1]!;
    const out: Dim[] = [x.shape[0]!, typeof m === 'number' ? m * group : null];
    for (let i = 0; i < n; i++) {
      const d = x.shape[i + 2]!;
      const k = w.shape[i + 2]!;
      out.push(
        typeof d === 'number' && typeof k === 'number'
          ? strides[i]! * (d - 1) + op[i]! + ((k - 1) * dil[i]! + 1) - pads[i]! - pads[i + n]!
          : null,
      );
    }
    shape = out;
  }
  return g.addNode({
    opType: 'ConvTranspose',
    inputs: [x, w, b],
    attrs: {
      strides: o.strides ? attr.ints(o.strides) : undefined,
      pads: o.pads ? attr.ints(o.pads) : undefined,
      dilations: o.dilations ? attr.ints(o.dilations) : undefined,
      group: attr.optInt(o.group),
      output_padding: o.outputPadding ? attr.ints(o.outputPadding) : undefined,
    },
    outputs: [{ dtype, shape }],
    name,
  })[0]!;
}

export interface ResizeOptions extends OpOptions {
  mode?: 'nearest' | 'linear' | 'cubic';
  coordinateTransformationMode?:
    | 'half_pixel'
    | 'asymmetric'
    | 'align_corners'
    | 'pytorch_half_pixel'
    | 'half_pixel_symmetric';
  nearestMode?: 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';
  cubicCoeffA?: number;
  /** Output size per axis (all axes); alternative to scales. */
  sizes?: readonly number[];
  /** Scale per axis (all axes). */
  scales?: readonly number[];
}

/** Resize with static sizes or scales. */
export function resize(x: Value, o: ResizeOptions): Value {
  const { g, name } = begin('Resize', [x], o);
  if ((o.sizes === undefined) === (o.scales === undefined))
    throw graphError(name, 'give exactly one of sizes and scales');
  const rank = x.shape?.length;
  const list = (o.sizes ?? o.scales)!;
  if (rank !== undefined && list.length !== rank)
    throw graphError(name, `${o.sizes ? 'sizes' : 'scales'} has ${list.length} entries for rank ${rank}`);
  let shape: Shape = null;
  if (o.sizes) shape = [...o.sizes];
  else if (x.shape)
    shape = x.shape.map((d, i) => (typeof d === 'number' ? Math.floor(d * o.scales![i]!) : null));
  const scalesV = o.scales
    ? g.constant('float32', [o.scales.length], Float32Array.from(o.scales), 'scales')
    : null;
  const sizesV = o.sizes ? int64s(g, o.sizes, 'sizes') : null;
  return g.addNode({
    opType: 'Resize',
    inputs: [x, null, scalesV, sizesV],
    attrs: {
      mode: o.mode ? attr.string(o.mode) : undefined,
      coordinate_transformation_mode: o.coordinateTransformationMode
        ? attr.string(o.coordinateTransformationMode)
        : undefined,
      nearest_mode: o.nearestMode ? attr.string(o.nearestMode) : undefined,
      cubic_coeff_a: attr.optFloat(o.cubicCoeffA),
    },
    outputs: [{ dtype: x.dtype, shape }],
    name,
  })[0]!;
}

export function softmax(x: Value, axis = -1, opts?: OpOptions): Value {
  const { g, name } = begin('Softmax', [x], opts);
  expectDType(name, 'input', x, FLOATS);
  if (x.shape) normAxis(name, axis, x.shape.length);
  return g.addNode({
    opType: 'Softmax',
    inputs: [x],
    attrs: { axis: attr.int(axis) },
    outputs: [{ dtype: x.dtype, shape: x.shape }],
    name,
  })[0]!;
}

export interface NormOptions extends OpOptions {
  axis?: number;
  epsilon?: number;
}

function checkNormScale(name: string, x: Value, scale: Value, axis: number): void {
  if (!x.shape || !scale.shape) return;
  const a = normAxis(name, axis, x.shape.length);
  const tail = x.shape.slice(a);
  if (scale.shape.length > tail.length)
    throw graphError(name, `scale has rank ${scale.shape.length}, more than the normalized dims`);
  broadcastShapes(name, [tail, scale.shape]);
}

/** LayerNormalization (opset 17): normalizes over dims from axis on. */
export function layerNorm(x: Value, scale: Value, bias?: Value, o: NormOptions = {}): Value {
  const { g, name } = begin('LayerNormalization', [x, scale, bias], o);
  sameDType(name, [
    ['X', x],
    ['Scale', scale],
    ['B', bias],
  ]);
  expectDType(name, 'X', x, FLOATS);
  checkNormScale(name, x, scale, o.axis ?? -1);
  return g.addNode({
    opType: 'LayerNormalization',
    inputs: [x, scale, bias],
    attrs: { axis: attr.optInt(o.axis), epsilon: attr.optFloat(o.epsilon) },
    outputs: [{ dtype: x.dtype, shape: x.shape }],
    name,
  })[0]!;
}

/** RMSNormalization (ONNX opset 23): x / sqrt(mean(x²) + eps) · scale. */
export function rmsNorm(x: Value, scale: Value, o: NormOptions = {}): Value {
  const { g, name } = begin('RMSNormalization', [x, scale], o);
  sameDType(name, [
    ['X', x],
    ['scale', scale],
  ]);
  expectDType(name, 'X', x, FLOATS);
  checkNormScale(name, x, scale, o.axis ?? -1);
  return g.addNode({
    opType: 'RMSNormalization',
    inputs: [x, scale],
    attrs: { axis: attr.optInt(o.axis), epsilon: attr.optFloat(o.epsilon) },
    outputs: [{ dtype: x.dtype, shape: x.shape }],
    name,
    sinceOpset: 23,
  })[0]!;
}

/** Gelu (ONNX opset 20), exact (erf) or with the tanh approximation. */
export function gelu(x: Value, approximate: 'none' | 'tanh' = 'none', opts?: OpOptions): Value {
  const { g, name } = begin('Gelu', [x], opts);
  expectDType(name, 'X', x, FLOATS);
  return g.addNode({
    opType: 'Gelu',
    inputs: [x],
    attrs: { approximate: approximate === 'none' ? undefined : attr.string(approximate) },
    outputs: [{ dtype: x.dtype, shape: x.shape }],
    name,
    sinceOpset: 20,
  })[0]!;
}

export interface ReduceOptions extends OpOptions {
  keepdims?: boolean;
}

function reduce(
  opType: string,
  x: Value,
  axes: readonly number[],
  o: ReduceOptions,
  allowed: readonly DType[],
): Value {
  const { g, name } = begin(opType, [x], o);
  expectDType(name, 'data', x, allowed);
  const keep = o.keepdims ?? true;
  let shape: Shape = null;
  if (x.shape) {
    const norm = axes.map((a) => normAxis(name, a, x.shape!.length));
    shape = keep
      ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !norm.includes(i));
  }
  return g.addNode({
    opType,
    inputs: [x, int64s(g, axes, 'axes')],
    attrs: { keepdims: attr.optBool(o.keepdims) },
    outputs: [{ dtype: x.dtype, shape }],
    name,
  })[0]!;
}

export const reduceMean = (x: Value, axes: readonly number[], o: ReduceOptions = {}) =>
  reduce('ReduceMean', x, axes, o, FLOATS);
export const reduceSum = (x: Value, axes: readonly number[], o: ReduceOptions = {}) =>
  reduce('ReduceSum', x, axes, o, NUMERIC);
export const reduceMax = (x: Value, axes: readonly number[], o: ReduceOptions = {}) =>
  reduce('ReduceMax', x, axes, o, NUMERIC);

/** ArgMax along an axis, int64 indices. */
export function argMax(x: Value, axis = -1, o: ReduceOptions = {}): Value {
  const { g, name } = begin('ArgMax', [x], o);
  expectDType(name, 'data', x, NUMERIC);
  let shape: Shape = null;
  if (x.shape) {
    const a = normAxis(name, axis, x.shape.length);
    shape =
      (o.keepdims ?? true) ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  }
  return g.addNode({
    opType: 'ArgMax',
    inputs: [x],
    attrs: { axis: attr.int(axis), keepdims: attr.optBool(o.keepdims) },
    outputs: [{ dtype: 'int64', shape }],
    name,
  })[0]!;
}
