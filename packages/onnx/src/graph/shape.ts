import { ERROR_CODES, PaliError } from '@pali/errors';

/** A dimension: a number, a symbolic name (dim_param) or null when unknown. */
export type Dim = number | string | null;
/** A shape; null when even the rank is unknown. */
export type Shape = readonly Dim[] | null;

export function graphError(node: string, message: string, hint?: string): PaliError {
  return new PaliError(ERROR_CODES.GRAPH_ERROR, `Node "${node}": ${message}`, {
    hint: hint ?? 'Fix the graph where this node is built',
    details: { node },
  });
}

export function shapeToString(shape: Shape): string {
  return shape === null ? '[?]' : `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/** True when the dims may be equal (unknown or symbolic on either side, or the same number). */
export function dimsCompatible(a: Dim, b: Dim): boolean {
  return typeof a !== 'number' || typeof b !== 'number' || a === b;
}

/** numpy-style broadcast of several shapes; throws on two static dims that cannot broadcast. */
export function broadcastShapes(node: string, shapes: Shape[]): Shape {
  if (shapes.some((s) => s === null)) return null;
  const ss = shapes as (readonly Dim[])[];
  const rank = Math.max(...ss.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of ss) {
      const e = s[s.length - rank + i];
      if (e === undefined || e === 1) continue;
      if (d === 1) d = e;
      else if (typeof d === 'number' && typeof e === 'number') {
        if (d !== e)
          throw graphError(node, `cannot broadcast shapes ${ss.map((x) => shapeToString(x)).join(' and ')}`);
      } else if (d !== e) d = typeof e === 'number' ? e : typeof d === 'number' ? d : null;
    }
    out.push(d);
  }
  return out;
}

/** Normalizes a possibly negative axis against a rank; throws when out of range. */
export function normAxis(node: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw graphError(node, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape?.every((d) => typeof d === 'number') ?? false;
}

/** Product of dims, or null if any is not a number. */
export function dimProduct(dims: readonly Dim[]): number | null {
  let n = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return null;
    n *= d;
  }
  return n;
}

export function checkShape(shape: readonly Dim[], what: string): void {
  for (const d of shape) {
    if (d === null || typeof d === 'string') continue;
    if (!Number.isInteger(d) || d < 0)
      throw new PaliError(ERROR_CODES.GRAPH_ERROR, `${what}: dimension ${d} is not a non-negative integer`, {
        hint: 'Use whole numbers or symbolic names (strings) for dimensions',
      });
  }
}
