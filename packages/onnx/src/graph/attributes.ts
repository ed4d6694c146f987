import { ERROR_CODES, PaliError } from '@pali/errors';

/** A typed node attribute; the kind decides the AttributeProto type, so 1 and 1.0 never get confused. */
export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'strings'; value: readonly string[] }
  | {
      kind: 'tensor';
      dtype: 'float32' | 'int64' | 'int32';
      dims: readonly number[];
      values: readonly number[];
    };

export type Attrs = Record<string, AttrValue | undefined>;

export const attr = {
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): AttrValue => ({ kind: 'floats', value }),
  strings: (value: readonly string[]): AttrValue => ({ kind: 'strings', value }),
  /** An optional int: undefined leaves the attribute out (the op's default applies). */
  optInt: (value: number | undefined): AttrValue | undefined =>
    value === undefined ? undefined : { kind: 'int', value },
  optFloat: (value: number | undefined): AttrValue | undefined =>
    value === undefined ? undefined : { kind: 'float', value },
  optBool: (value: boolean | undefined): AttrValue | undefined =>
    value === undefined ? undefined : { kind: 'int', value: value ? 1 : 0 },
};

/** Checks an attribute's value while the node is built; `node` names the node in the message. */
export function checkAttr(node: string, name: string, ok: boolean, expected: string, got: unknown): void {
  if (!ok) {
    throw new PaliError(
      ERROR_CODES.GRAPH_ERROR,
      `Node "${node}": attribute ${name} must be ${expected}, got ${JSON.stringify(got)}`,
      { hint: 'Fix the value passed to the op helper', details: { node, attribute: name } },
    );
  }
}

export function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x);
}
