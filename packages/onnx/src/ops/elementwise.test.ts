import { describe, expect, it } from 'vitest';
import { f32, maxAbsDiff, rand, runGraph } from '../../test/helpers/ort.js';
import { binary, erf, map, t } from '../../test/helpers/ref.js';
import { GraphBuilder, type Value } from '../graph/graph-builder.js';
import * as ops from './elementwise.js';

const X = t(rand(12, 1, 2), [2, 2, 3]);
const Y = t(rand(3, 2, 2), [1, 3]);

describe('elementwise ops in onnxruntime-node vs TypeScript', () => {
  it('binary ops broadcast like numpy and match', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['b', 2, 3]);
    const y = g.input('y', 'float32', [1, 3]);
    const cases: [string, (a: Value, b: Value) => Value, (a: number, b: number) => number][] = [
      ['add', ops.add, (a, b) => a + b],
      ['sub', ops.sub, (a, b) => a - b],
      ['mul', ops.mul, (a, b) => a * b],
      ['div', ops.div, (a, b) => a / b],
      ['max', ops.max, Math.max],
      ['min', ops.min, Math.min],
      ['pow', (a, b) => ops.pow(ops.abs(a), b), (a, b) => Math.abs(a) ** b],
    ];
    for (const [name, f] of cases) g.output(f(x, y), name);
    g.output(ops.mul(x, 0.5), 'scalar_rhs');
    g.output(ops.sub(1, x), 'scalar_lhs');
    const out = await runGraph(g, { x: f32(X.data, X.shape), y: f32(Y.data, Y.shape) });
    for (const [name, , ref] of cases) {
      const want = binary(X, Y, ref);
      expect(out[name]!.dims, name).toEqual(want.shape);
      expect(maxAbsDiff(out[name]!.data as Float32Array, want.data), name).toBeLessThan(1e-5);
    }
    expect(maxAbsDiff(out.scalar_rhs!.data as Float32Array, map(X, (v) => v * 0.5).data)).toBe(0);
    expect(maxAbsDiff(out.scalar_lhs!.data as Float32Array, map(X, (v) => 1 - v).data)).toBeLessThan(1e-7);
  });

  it('unary ops match Math', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 2, 3]);
    const cases: [string, (a: Value) => Value, (a: number) => number, number][] = [
      ['sqrt', (a) => ops.sqrt(ops.abs(a)), (a) => Math.sqrt(Math.abs(a)), 1e-6],
      ['reciprocal', ops.reciprocal, (a) => 1 / a, 1e-3],
      ['neg', ops.neg, (a) => -a, 0],
      ['abs', ops.abs, Math.abs, 0],
      ['exp', ops.exp, Math.exp, 1e-5],
      ['log', (a) => ops.log(ops.abs(a)), (a) => Math.log(Math.abs(a)), 1e-5],
      ['tanh', ops.tanh, Math.tanh, 1e-6],
      ['sigmoid', ops.sigmoid, (a) => 1 / (1 + Math.exp(-a)), 1e-6],
      ['relu', ops.relu, (a) => Math.max(0, a), 0],
      ['erf', ops.erf, erf, 1e-6],
      ['sin', ops.sin, Math.sin, 1e-6],
      ['cos', ops.cos, Math.cos, 1e-6],
      ['clip', (a) => ops.clip(a, -0.5, 0.75), (a) => Math.min(Math.max(a, -0.5), 0.75), 0],
      ['clip_lo', (a) => ops.clip(a, 0), (a) => Math.max(a, 0), 0],
    ];
    for (const [name, f] of cases) g.output(f(x), name);
    const out = await runGraph(g, { x: f32(X.data, X.shape) });
    for (const [name, , ref, tol] of cases)
      expect(maxAbsDiff(out[name]!.data as Float32Array, map(X, ref).data), name).toBeLessThanOrEqual(tol);
  });

  it('comparisons, logic, Where and Cast match', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 2, 3]);
    const y = g.input('y', 'float32', [1, 3]);
    const lt = ops.less(x, y);
    const cmp: [string, Value, (a: number, b: number) => boolean][] = [
      ['less', lt, (a, b) => a < b],
      ['greater', ops.greater(x, y), (a, b) => a > b],
      ['le', ops.lessOrEqual(x, y), (a, b) => a <= b],
      ['ge', ops.greaterOrEqual(x, y), (a, b) => a >= b],
      ['eq', ops.equal(x, x), () => true],
      ['and', ops.and(lt, ops.greater(x, 0)), (a, b) => a < b && a > 0],
      ['or', ops.or(lt, ops.greater(x, 0)), (a, b) => a < b || a > 0],
      ['not', ops.not(lt), (a, b) => !(a < b)],
    ];
    for (const [name, v] of cmp) g.output(v, name);
    g.output(ops.where(lt, x, -1), 'where');
    g.output(ops.cast(ops.mul(x, 10), 'int32'), 'cast');
    const out = await runGraph(g, { x: f32(X.data, X.shape), y: f32(Y.data, Y.shape) });
    for (const [name, , ref] of cmp) {
      const want = binary(X, Y, (a, b) => (ref(a, b) ? 1 : 0)).data;
      expect(out[name]!.type).toBe('bool');
      expect(Array.from(out[name]!.data as Uint8Array, Number), name).toEqual(Array.from(want));
    }
    expect(Array.from(out.where!.data as Float32Array)).toEqual(
      Array.from(binary(X, Y, (a, b) => (a < b ? a : -1)).data),
    );
    expect(Array.from(out.cast!.data as Int32Array)).toEqual(
      Array.from(X.data, (v) => Math.trunc(Math.fround(v * 10)) | 0),
    );
  });

  it('fails at build time, naming the node, on a dtype clash or a bad broadcast', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 3]);
    const h = g.input('h', 'float16', [2, 3]);
    const z = g.input('z', 'float32', [4]);
    expect(() => ops.add(x, h, { name: 'my_add' })).toThrowError(
      /Node "my_add": input B \("h"\) is float16 but A is float32/,
    );
    expect(() => ops.mul(x, z, { name: 'bc' })).toThrowError(/Node "bc": cannot broadcast/);
    expect(() => ops.where(x, x, x, { name: 'w' })).toThrowError(
      /Node "w": input condition \("x"\) is float32/,
    );
    expect(() => ops.and(x, x)).toThrowError(/allowed: bool/);
  });
});
