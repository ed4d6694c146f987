import { type DType, onnxDataType as onnxCode } from '../dtype.js';
import { attr } from '../graph/attributes.js';
import type { Value } from '../graph/graph-builder.js';
import { broadcastShapes, graphError } from '../graph/shape.js';
import {
  begin,
  expectDType,
  FLOATS,
  NUMERIC,
  type Operand,
  type OpOptions,
  sameDType,
  toValue,
} from './common.js';

function binary(
  opType: string,
  a: Operand,
  b: Operand,
  opts: OpOptions | undefined,
  allowed: readonly DType[],
  outDType?: DType,
): Value {
  if (typeof a === 'number' && typeof b === 'number')
    throw graphError(opType, 'needs at least one Value operand', 'Compute constant arithmetic in TypeScript');
  const av = typeof a === 'number' ? toValue(b as Value, a) : a;
  const bv = typeof b === 'number' ? toValue(av, b) : b;
  const { g, name } = begin(opType, [av, bv], opts);
  const dtype = sameDType(name, [
    ['A', av],
    ['B', bv],
  ]);
  expectDType(name, 'A', av, allowed);
  const shape = broadcastShapes(name, [av.shape, bv.shape]);
  return g.addNode({ opType, inputs: [av, bv], outputs: [{ dtype: outDType ?? dtype, shape }], name })[0]!;
}

export const add = (a: Operand, b: Operand, opts?: OpOptions) => binary('Add', a, b, opts, NUMERIC);
export const sub = (a: Operand, b: Operand, opts?: OpOptions) => binary('Sub', a, b, opts, NUMERIC);
export const mul = (a: Operand, b: Operand, opts?: OpOptions) => binary('Mul', a, b, opts, NUMERIC);
export const div = (a: Operand, b: Operand, opts?: OpOptions) => binary('Div', a, b, opts, NUMERIC);
export const max = (a: Operand, b: Operand, opts?: OpOptions) => binary('Max', a, b, opts, NUMERIC);
export const min = (a: Operand, b: Operand, opts?: OpOptions) => binary('Min', a, b, opts, NUMERIC);
export const equal = (a: Operand, b: Operand, opts?: OpOptions) =>
  binary('Equal', a, b, opts, [...NUMERIC, 'bool'], 'bool');
export const less = (a: Operand, b: Operand, opts?: OpOptions) => binary('Less', a, b, opts, NUMERIC, 'bool');
export const lessOrEqual = (a: Operand, b: Operand, opts?: OpOptions) =>
  binary('LessOrEqual', a, b, opts, NUMERIC, 'bool');
export const greater = (a: Operand, b: Operand, opts?: OpOptions) =>
  binary('Greater', a, b, opts, NUMERIC, 'bool');
export const greaterOrEqual = (a: Operand, b: Operand, opts?: OpOptions) =>
  binary('GreaterOrEqual', a, b, opts, NUMERIC, 'bool');
export const and = (a: Value, b: Value, opts?: OpOptions) => binary('And', a, b, opts, ['bool']);
export const or = (a: Value, b: Value, opts?: OpOptions) => binary('Or', a, b, opts, ['bool']);

/** Pow: the exponent may have another numeric dtype than the base (ONNX T1/T2). */
export function pow(x: Value, y: Operand, opts?: OpOptions): Value {
  const yv = toValue(x, y);
  const { g, name } = begin('Pow', [x, yv], opts);
  expectDType(name, 'X', x, ['float32', 'float16', 'bfloat16', 'float64', 'int32', 'int64']);
  expectDType(name, 'Y', yv, NUMERIC);
  const shape = broadcastShapes(name, [x.shape, yv.shape]);
  return g.addNode({ opType: 'Pow', inputs: [x, yv], outputs: [{ dtype: x.dtype, shape }], name })[0]!;
}

function unary(opType: string, x: Value, opts: OpOptions | undefined, allowed: readonly DType[]): Value {
  const { g, name } = begin(opType, [x], opts);
  expectDType(name, 'X', x, allowed);
  return g.addNode({ opType, inputs: [x], outputs: [{ dtype: x.dtype, shape: x.shape }], name })[0]!;
}

const SIGNED: readonly DType[] = [
  'float32',
  'float16',
  'bfloat16',
  'float64',
  'int8',
  'int16',
  'int32',
  'int64',
];

export const sqrt = (x: Value, opts?: OpOptions) => unary('Sqrt', x, opts, FLOATS);
export const reciprocal = (x: Value, opts?: OpOptions) => unary('Reciprocal', x, opts, FLOATS);
export const neg = (x: Value, opts?: OpOptions) => unary('Neg', x, opts, SIGNED);
export const abs = (x: Value, opts?: OpOptions) => unary('Abs', x, opts, NUMERIC);
export const exp = (x: Value, opts?: OpOptions) => unary('Exp', x, opts, FLOATS);
export const log = (x: Value, opts?: OpOptions) => unary('Log', x, opts, FLOATS);
export const tanh = (x: Value, opts?: OpOptions) => unary('Tanh', x, opts, FLOATS);
export const sigmoid = (x: Value, opts?: OpOptions) => unary('Sigmoid', x, opts, FLOATS);
export const relu = (x: Value, opts?: OpOptions) => unary('Relu', x, opts, SIGNED);
export const erf = (x: Value, opts?: OpOptions) => unary('Erf', x, opts, FLOATS);
export const sin = (x: Value, opts?: OpOptions) => unary('Sin', x, opts, FLOATS);
export const cos = (x: Value, opts?: OpOptions) => unary('Cos', x, opts, FLOATS);
export const not = (x: Value, opts?: OpOptions) => unary('Not', x, opts, ['bool']);

/** Where(cond, x, y): x where cond is true, else y. */
export function where(cond: Value, x: Operand, y: Operand, opts?: OpOptions): Value {
  const base = typeof x === 'number' ? (y as Value) : x;
  const xv = toValue(base, x);
  const yv = toValue(base, y);
  const { g, name } = begin('Where', [cond, xv, yv], opts);
  expectDType(name, 'condition', cond, ['bool']);
  const dtype = sameDType(name, [
    ['X', xv],
    ['Y', yv],
  ]);
  const shape = broadcastShapes(name, [cond.shape, xv.shape, yv.shape]);
  return g.addNode({ opType: 'Where', inputs: [cond, xv, yv], outputs: [{ dtype, shape }], name })[0]!;
}

/** Cast to another dtype. */
export function cast(x: Value, to: DType, opts?: OpOptions): Value {
  const { g, name } = begin('Cast', [x], opts);
  return g.addNode({
    opType: 'Cast',
    inputs: [x],
    attrs: { to: attr.int(onnxCode(to)) },
    outputs: [{ dtype: to, shape: x.shape }],
    name,
  })[0]!;
}

/** Clip(x, min, max); either bound may be left out. */
export function clip(x: Value, lo?: Operand, hi?: Operand, opts?: OpOptions): Value {
  const minV = lo === undefined ? undefined : toValue(x, lo);
  const maxV = hi === undefined ? undefined : toValue(x, hi);
  const { g, name } = begin('Clip', [x, minV, maxV], opts);
  sameDType(name, [
    ['input', x],
    ['min', minV],
    ['max', maxV],
  ]);
  for (const [l, v] of [
    ['min', minV],
    ['max', maxV],
  ] as const)
    if (v?.shape && v.shape.length !== 0) throw graphError(name, `${l} must be a scalar`);
  return g.addNode({
    opType: 'Clip',
    inputs: [x, minV, maxV],
    outputs: [{ dtype: x.dtype, shape: x.shape }],
    name,
  })[0]!;
}
