import { attr } from '../graph/attributes.js';
import type { Value } from '../graph/graph-builder.js';
import { type Dim, dimProduct, graphError, normAxis, type Shape } from '../graph/shape.js';
import { begin, expectDType, INDEX, int64s, type OpOptions, sameDType } from './common.js';

/** Reshape to a static list (0 copies the input dim, -1 is inferred) or to a runtime shape tensor. */
export function reshape(x: Value, shape: readonly number[] | Value, opts?: OpOptions): Value {
  const { g, name } = begin(
    'Reshape',
    [x, typeof shape === 'object' && 'graph' in shape ? shape : null],
    opts,
  );
  let out: Shape = null;
  let shapeV: Value;
  if (Array.isArray(shape)) {
    const dims: Dim[] = shape.map((d, i) => {
      if (!Number.isInteger(d) || d < -1) throw graphError(name, `shape entry ${d} is not valid`);
      if (d === 0) {
        if (!x.shape) return null;
        const src = x.shape[i];
        if (src === undefined)
          throw graphError(name, `shape entry ${i} is 0 but the input has rank ${x.shape.length}`);
        return src;
      }
      return d;
    });
    if (dims.filter((d) => d === -1).length > 1) throw graphError(name, 'shape has more than one -1');
    const total = x.shape ? dimProduct(x.shape) : null;
    const known = dimProduct(dims.filter((d) => d !== -1));
    const minus = dims.indexOf(-1);
    if (minus >= 0) dims[minus] = total !== null && known !== null && known > 0 ? total / known : null;
    if (total !== null && dimProduct(dims) !== null && dimProduct(dims) !== total)
      throw graphError(name, `cannot reshape ${total} elements to [${shape.join(', ')}]`);
    if (typeof dims[minus] === 'number' && !Number.isInteger(dims[minus]))
      throw graphError(name, `cannot reshape ${total} elements to [${shape.join(', ')}]`);
    out = dims;
    shapeV = int64s(g, shape, 'shape');
  } else {
    expectDType(name, 'shape', shape as Value, ['int64']);
    shapeV = shape as Value;
    const s = shapeV.shape;
    out = s && typeof s[0] === 'number' ? new Array<Dim>(s[0]).fill(null) : null;
  }
  return g.addNode({
    opType: 'Reshape',
    inputs: [x, shapeV],
    outputs: [{ dtype: x.dtype, shape: out }],
    name,
  })[0]!;
}

export function transpose(x: Value, perm: readonly number[], opts?: OpOptions): Value {
  const { g, name } = begin('Transpose', [x], opts);
  if (x.shape && perm.length !== x.shape.length)
    throw graphError(name, `perm [${perm.join(', ')}] does not match rank ${x.shape.length}`);
  if ([...perm].sort((a, b) => a - b).some((p, i) => p !== i))
    throw graphError(name, `perm [${perm.join(', ')}] is not a permutation`);
  const shape = x.shape ? perm.map((p) => x.shape![p]!) : null;
  return g.addNode({
    opType: 'Transpose',
    inputs: [x],
    attrs: { perm: attr.ints(perm) },
    outputs: [{ dtype: x.dtype, shape }],
    name,
  })[0]!;
}

export function concat(xs: readonly Value[], axis: number, opts?: OpOptions): Value {
  const { g, name } = begin('Concat', xs, opts);
  const dtype = sameDType(
    name,
    xs.map((x, i) => [String(i), x]),
  );
  let shape: Shape = null;
  const ranked = xs.filter((x) => x.shape);
  if (ranked.length > 0) {
    const rank = ranked[0]!.shape!.length;
    if (ranked.some((x) => x.shape!.length !== rank)) throw graphError(name, 'inputs have different ranks');
    const a = normAxis(name, axis, rank);
    if (ranked.length === xs.length) {
      const out: Dim[] = [...ranked[0]!.shape!];
      out[a] = sumDims(xs.map((x) => x.shape![a]!));
      for (let i = 0; i < rank; i++) {
        if (i === a) continue;
        for (const x of xs) {
          const d = x.shape![i]!;
          if (typeof d === 'number' && typeof out[i] === 'number' && d !== out[i])
            throw graphError(name, `inputs differ in dim ${i} (${out[i]} vs ${d})`);
          if (typeof out[i] !== 'number' && typeof d === 'number') out[i] = d;
        }
      }
      shape = out;
    }
  }
  return g.addNode({
    opType: 'Concat',
    inputs: xs,
    attrs: { axis: attr.int(axis) },
    outputs: [{ dtype, shape }],
    name,
  })[0]!;
}

function sumDims(ds: Dim[]): Dim {
  let s = 0;
  for (const d of ds) {
    if (typeof d !== 'number') return null;
    s += d;
  }
  return s;
}

/** Slice with static starts/ends/axes/steps (ONNX clamping rules). */
export function slice(
  x: Value,
  starts: readonly number[],
  ends: readonly number[],
  axes?: readonly number[],
  steps?: readonly number[],
  opts?: OpOptions,
): Value {
  const { g, name } = begin('Slice', [x], opts);
  if (
    starts.length !== ends.length ||
    (axes && axes.length !== starts.length) ||
    (steps && steps.length !== starts.length)
  )
    throw graphError(name, 'starts, ends, axes and steps must have the same length');
  const shape: Dim[] | null = x.shape ? [...x.shape] : null;
  if (shape) {
    const rank = shape.length;
    starts.forEach((s0, i) => {
      const a = normAxis(name, axes?.[i] ?? i, rank);
      const step = steps?.[i] ?? 1;
      if (step === 0) throw graphError(name, 'step 0 is not allowed');
      const d = shape![a]!;
      if (typeof d !== 'number') {
        shape![a] = null;
        return;
      }
      const clampS = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
      const st = step > 0 ? clampS(s0, 0, d) : clampS(s0, -1, d - 1);
      const en = step > 0 ? clampS(ends[i]!, 0, d) : clampS(ends[i]!, -1, d - 1);
      shape![a] = Math.max(0, Math.ceil((en - st) / step));
    });
  }
  const inputs = [x, int64s(g, starts, 'starts'), int64s(g, ends, 'ends')];
  if (axes || steps) inputs.push(int64s(g, axes ?? starts.map((_, i) => i), 'axes'));
  if (steps) inputs.push(int64s(g, steps, 'steps'));
  return g.addNode({ opType: 'Slice', inputs, outputs: [{ dtype: x.dtype, shape }], name })[0]!;
}

/** Gather(data, indices, axis): output shape is data[:axis] + indices + data[axis+1:]. */
export function gather(data: Value, indices: Value, axis = 0, opts?: OpOptions): Value {
  const { g, name } = begin('Gather', [data, indices], opts);
  expectDType(name, 'indices', indices, INDEX);
  let shape: Shape = null;
  if (data.shape && indices.shape) {
    const a = normAxis(name, axis, data.shape.length);
    shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
  }
  return g.addNode({
    opType: 'Gather',
    inputs: [data, indices],
    attrs: { axis: attr.int(axis) },
    outputs: [{ dtype: data.dtype, shape }],
    name,
  })[0]!;
}

export function unsqueeze(x: Value, axes: readonly number[], opts?: OpOptions): Value {
  const { g, name } = begin('Unsqueeze', [x], opts);
  let shape: Dim[] | null = null;
  if (x.shape) {
    const rank = x.shape.length + axes.length;
    const norm = axes.map((a) => normAxis(name, a, rank));
    if (new Set(norm).size !== norm.length) throw graphError(name, 'axes repeat');
    const src = [...x.shape];
    shape = [];
    for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : (src.shift() as Dim));
  }
  return g.addNode({
    opType: 'Unsqueeze',
    inputs: [x, int64s(g, axes, 'axes')],
    outputs: [{ dtype: x.dtype, shape }],
    name,
  })[0]!;
}

export function squeeze(x: Value, axes: readonly number[], opts?: OpOptions): Value {
  const { g, name } = begin('Squeeze', [x], opts);
  let shape: Dim[] | null = null;
  if (x.shape) {
    const norm = axes.map((a) => normAxis(name, a, x.shape!.length));
    for (const a of norm) {
      const d = x.shape[a];
      if (typeof d === 'number' && d !== 1) throw graphError(name, `cannot squeeze axis ${a} of size ${d}`);
    }
    shape = x.shape.filter((_, i) => !norm.includes(i));
  }
  return g.addNode({
    opType: 'Squeeze',
    inputs: [x, int64s(g, axes, 'axes')],
    outputs: [{ dtype: x.dtype, shape }],
    name,
  })[0]!;
}

/** Expand (broadcast) to a static shape or a runtime int64 shape tensor. */
export function expand(x: Value, shape: readonly number[] | Value, opts?: OpOptions): Value {
  const isArr = Array.isArray(shape);
  const { g, name } = begin('Expand', [x, isArr ? null : (shape as Value)], opts);
  const shapeV = isArr ? int64s(g, shape as number[], 'shape') : (shape as Value);
  let out: Shape = null;
  if (isArr && x.shape) {
    const target = shape as number[];
    const rank = Math.max(target.length, x.shape.length);
    const o: Dim[] = [];
    for (let i = 0; i < rank; i++) {
      const a = x.shape[x.shape.length - rank + i] ?? 1;
      const b = target[target.length - rank + i] ?? 1;
      if (typeof a === 'number' && a !== 1 && b !== 1 && a !== b)
        throw graphError(name, `cannot expand dim ${a} to ${b}`);
      o.push(b === 1 ? a : b);
    }
    out = o;
  }
  return g.addNode({
    opType: 'Expand',
    inputs: [x, shapeV],
    outputs: [{ dtype: x.dtype, shape: out }],
    name,
  })[0]!;
}

/** Shape(x)[start:end] as int64. */
export function shapeOf(x: Value, start?: number, end?: number, opts?: OpOptions): Value {
  const { g, name } = begin('Shape', [x], opts);
  const rank = x.shape?.length;
  const len =
    rank === undefined ? null : Math.max(0, clampIdx(end ?? rank, rank) - clampIdx(start ?? 0, rank));
  return g.addNode({
    opType: 'Shape',
    inputs: [x],
    attrs: { start: attr.optInt(start), end: attr.optInt(end) },
    outputs: [{ dtype: 'int64', shape: [len] }],
    name,
  })[0]!;
}

function clampIdx(i: number, rank: number): number {
  return Math.min(Math.max(i < 0 ? i + rank : i, 0), rank);
}

/** Split into parts of the given sizes along an axis. */
export function split(x: Value, sizes: readonly number[], axis = 0, opts?: OpOptions): Value[] {
  const { g, name } = begin('Split', [x], opts);
  let shapes: Shape[] = sizes.map(() => null);
  if (x.shape) {
    const a = normAxis(name, axis, x.shape.length);
    const d = x.shape[a];
    const total = sizes.reduce((s, v) => s + v, 0);
    if (typeof d === 'number' && d !== total)
      throw graphError(name, `sizes add up to ${total}, the axis has ${d}`);
    shapes = sizes.map((s) => x.shape!.map((dd, i) => (i === a ? s : dd)));
  }
  return g.addNode({
    opType: 'Split',
    inputs: [x, int64s(g, sizes, 'split')],
    attrs: { axis: attr.int(axis) },
    outputs: shapes.map((shape) => ({ dtype: x.dtype, shape })),
    name,
  });
}

/** Range(start, limit, delta) with scalar Values of one dtype. */
export function range(start: Value, limit: Value, delta: Value, opts?: OpOptions): Value {
  const { g, name } = begin('Range', [start, limit, delta], opts);
  const dtype = sameDType(name, [
    ['start', start],
    ['limit', limit],
    ['delta', delta],
  ]);
  expectDType(name, 'start', start, ['float32', 'float64', 'int16', 'int32', 'int64']);
  return g.addNode({
    opType: 'Range',
    inputs: [start, limit, delta],
    outputs: [{ dtype, shape: [null] }],
    name,
  })[0]!;
}

export function cumSum(
  x: Value,
  axis: number,
  options: { exclusive?: boolean; reverse?: boolean } & OpOptions = {},
): Value {
  const { g, name } = begin('CumSum', [x], options);
  if (x.shape) normAxis(name, axis, x.shape.length);
  return g.addNode({
    opType: 'CumSum',
    inputs: [x, g.constant('int64', [], BigInt64Array.of(BigInt(axis)), 'axis')],
    attrs: { exclusive: attr.optBool(options.exclusive), reverse: attr.optBool(options.reverse) },
    outputs: [{ dtype: x.dtype, shape: x.shape }],
    name,
  })[0]!;
}

export function identity(x: Value, opts?: OpOptions): Value {
  const { g, name } = begin('Identity', [x], opts);
  return g.addNode({
    opType: 'Identity',
    inputs: [x],
    outputs: [{ dtype: x.dtype, shape: x.shape }],
    name,
  })[0]!;
}
