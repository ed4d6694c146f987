import { ERROR_CODES, PaliError } from '@pali/errors';
import type { DType } from '../dtype.js';
import { type GraphBuilder, Value } from '../graph/graph-builder.js';
import { graphError } from '../graph/shape.js';
import { f32ToBf16, f32ToF16 } from '../half.js';

/** Options every op helper takes: the node's name (also its output's name for one-output ops). */
export interface OpOptions {
  name?: string;
}

export const MS_DOMAIN = 'com.microsoft';

/** The graph the values belong to and the node name to use in messages. */
export function begin(
  opType: string,
  values: readonly (Value | null | undefined)[],
  opts: OpOptions | undefined,
): { g: GraphBuilder; name: string } {
  const first = values.find((v): v is Value => v instanceof Value);
  if (!first)
    throw new PaliError(ERROR_CODES.GRAPH_ERROR, `${opType}: needs at least one input value`, {
      hint: 'Pass Values created by a GraphBuilder',
    });
  const g = first.graph;
  const name = opts?.name ?? g.uniqueName(opType);
  // Checked before any constant is added, so a failed op leaves the graph as it was.
  if (g.hasNode(name))
    throw graphError(name, 'the name is already used by another node', 'Give every node a unique name');
  for (const v of values)
    if (v != null && (!(v instanceof Value) || v.graph !== g))
      throw graphError(name, `input "${(v as { name?: string })?.name}" belongs to another graph`);
  return { g, name };
}

/** Throws unless all named inputs share one dtype (ops whose type constraint is a single T). */
export function sameDType(node: string, pairs: readonly [string, Value | null | undefined][]): DType {
  let dtype: DType | undefined;
  let firstLabel = '';
  for (const [label, v] of pairs) {
    if (!v) continue;
    if (dtype === undefined) {
      dtype = v.dtype;
      firstLabel = label;
    } else if (v.dtype !== dtype)
      throw graphError(
        node,
        `input ${label} ("${v.name}") is ${v.dtype} but ${firstLabel} is ${dtype}`,
        'Cast one of them so both have the same dtype',
      );
  }
  return dtype!;
}

/** Throws unless the value's dtype is one of the allowed ones. */
export function expectDType(
  node: string,
  label: string,
  v: Value | null | undefined,
  allowed: readonly DType[],
): void {
  if (v && !allowed.includes(v.dtype))
    throw graphError(
      node,
      `input ${label} ("${v.name}") is ${v.dtype}; allowed: ${allowed.join(', ')}`,
      'Cast it to an allowed dtype',
    );
}

export function expectRank(
  node: string,
  label: string,
  v: Value | null | undefined,
  ranks: readonly number[],
): void {
  if (v?.shape && !ranks.includes(v.shape.length))
    throw graphError(
      node,
      `input ${label} ("${v.name}") has rank ${v.shape.length}; expected ${ranks.join(' or ')}`,
    );
}

export const FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16', 'float64'];
export const FLOAT16_32: readonly DType[] = ['float32', 'float16'];
export const INDEX: readonly DType[] = ['int32', 'int64'];
export const NUMERIC: readonly DType[] = [
  'float32',
  'float16',
  'bfloat16',
  'float64',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
];

/** An int64 1-D constant (shapes, axes, starts...). */
export function int64s(g: GraphBuilder, values: readonly number[], prefix = 'i64'): Value {
  return g.constant('int64', [values.length], BigInt64Array.from(values.map((v) => BigInt(v))), prefix);
}

/** A scalar constant of a dtype (a 0-d tensor), to combine with a tensor by broadcasting. */
export function scalar(g: GraphBuilder, dtype: DType, value: number): Value {
  switch (dtype) {
    case 'float32':
      return g.constant(dtype, [], Float32Array.of(value), 'scalar');
    case 'float64':
      return g.constant(dtype, [], Float64Array.of(value), 'scalar');
    case 'float16':
      return g.constant(dtype, [], Uint16Array.of(f32ToF16(value)), 'scalar');
    case 'bfloat16':
      return g.constant(dtype, [], Uint16Array.of(f32ToBf16(value)), 'scalar');
    case 'int64':
      return g.constant(dtype, [], BigInt64Array.of(BigInt(value)), 'scalar');
    case 'uint64':
      return g.constant(dtype, [], BigUint64Array.of(BigInt(value)), 'scalar');
    case 'int32':
      return g.constant(dtype, [], Int32Array.of(value), 'scalar');
    case 'uint32':
      return g.constant(dtype, [], Uint32Array.of(value), 'scalar');
    case 'int16':
      return g.constant(dtype, [], Int16Array.of(value), 'scalar');
    case 'uint16':
      return g.constant(dtype, [], Uint16Array.of(value), 'scalar');
    case 'int8':
      return g.constant(dtype, [], Int8Array.of(value), 'scalar');
    case 'uint8':
    case 'bool':
      return g.constant(dtype, [], Uint8Array.of(value), 'scalar');
    default:
      throw new PaliError(ERROR_CODES.UNSUPPORTED_DTYPE, `No scalar constant of ${dtype}`);
  }
}

/** A Value, or a number made into a scalar of the other operand's dtype. */
export type Operand = Value | number;

export function toValue(other: Value, x: Operand): Value {
  return typeof x === 'number' ? scalar(other.graph, other.dtype, x) : x;
}
