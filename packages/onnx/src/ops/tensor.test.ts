import { describe, expect, it } from 'vitest';
import { f32, i32, i64, rand, runGraph } from '../../test/helpers/ort.js';
import { transpose as refTranspose, t } from '../../test/helpers/ref.js';
import { GraphBuilder } from '../graph/graph-builder.js';
import * as ops from './tensor.js';

const X = t(rand(24, 3), [2, 3, 4]);
const at = (i: number, j: number, k: number) => X.data[(i * 3 + j) * 4 + k]!;

describe('tensor ops in onnxruntime-node vs TypeScript', () => {
  it('reshape, transpose, concat, slice, gather, (un)squeeze, expand, shape, split, identity', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['batch', 3, 4]);
    const idx = g.input('idx', 'int64', [2]);
    const outs = {
      reshape: ops.reshape(x, [0, -1]),
      transpose: ops.transpose(x, [2, 0, 1]),
      concat: ops.concat([x, x], 1),
      slice: ops.slice(x, [1, -1], [3, 0], [1, 2], [1, -2]),
      gather: ops.gather(x, idx, 2),
      unsqueeze: ops.unsqueeze(x, [0, -1]),
      squeeze: ops.squeeze(ops.unsqueeze(x, [1]), [1]),
      expand: ops.expand(ops.slice(x, [0], [1], [0]), [3, 3, 4]),
      shape: ops.shapeOf(x, 1),
      identity: ops.identity(x),
    };
    for (const [k, v] of Object.entries(outs)) g.output(v, k);
    const [s0, s1] = ops.split(x, [1, 3], 2);
    g.output(s0!, 'split0');
    g.output(s1!, 'split1');
    expect(outs.reshape.shape).toEqual(['batch', null]);
    expect(outs.transpose.shape).toEqual([4, 'batch', 3]);
    expect(outs.concat.shape).toEqual(['batch', 6, 4]);
    expect(outs.slice.shape).toEqual(['batch', 2, 2]);
    expect(outs.gather.shape).toEqual(['batch', 3, 2]);
    expect(outs.unsqueeze.shape).toEqual([1, 'batch', 3, 4, 1]);
    const out = await runGraph(g, { x: f32(X.data, X.shape), idx: i64([3, 0], [2]) });
    const arr = (k: string) => Array.from(out[k]!.data as Float32Array);
    expect(out.reshape!.dims).toEqual([2, 12]);
    expect(arr('reshape')).toEqual(Array.from(X.data));
    expect(arr('transpose')).toEqual(Array.from(refTranspose(X, [2, 0, 1]).data));
    const concat: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let r = 0; r < 2; r++)
        for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) concat.push(at(i, j, k));
    expect(arr('concat')).toEqual(concat);
    const slice: number[] = [];
    for (let i = 0; i < 2; i++) for (const j of [1, 2]) for (const k of [3, 1]) slice.push(at(i, j, k));
    expect(arr('slice')).toEqual(slice);
    const gathered: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) for (const k of [3, 0]) gathered.push(at(i, j, k));
    expect(arr('gather')).toEqual(gathered);
    expect(out.unsqueeze!.dims).toEqual([1, 2, 3, 4, 1]);
    expect(arr('squeeze')).toEqual(Array.from(X.data));
    expect(arr('expand')).toEqual([
      ...X.data.subarray(0, 12),
      ...X.data.subarray(0, 12),
      ...X.data.subarray(0, 12),
    ]);
    expect(Array.from(out.shape!.data as BigInt64Array, Number)).toEqual([3, 4]);
    expect(arr('identity')).toEqual(Array.from(X.data));
    expect(out.split1!.dims).toEqual([2, 3, 3]);
    expect(arr('split0')).toEqual(Array.from({ length: 6 }, (_, r) => X.data[r * 4]!));
  });

  it('range and cumSum', async () => {
    const g = new GraphBuilder();
    const n = g.input('n', 'int32', []);
    const x = g.input('x', 'float32', [2, 3]);
    g.output(
      ops.range(g.constant('int32', [], Int32Array.of(0)), n, g.constant('int32', [], Int32Array.of(2))),
      'range',
    );
    g.output(ops.cumSum(x, 1), 'cumsum');
    g.output(ops.cumSum(x, 1, { exclusive: true, reverse: true }), 'cumsum_er');
    const out = await runGraph(g, { n: i32([7], []), x: f32([1, 2, 3, 4, 5, 6], [2, 3]) });
    expect(Array.from(out.range!.data as Int32Array)).toEqual([0, 2, 4, 6]);
    expect(Array.from(out.cumsum!.data as Float32Array)).toEqual([1, 3, 6, 4, 9, 15]);
    expect(Array.from(out.cumsum_er!.data as Float32Array)).toEqual([5, 3, 0, 11, 6, 0]);
  });

  it('checks shapes at build time, naming the node', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 3, 4]);
    expect(() => ops.reshape(x, [5, -1], { name: 'r' })).toThrowError(/Node "r": cannot reshape 24 elements/);
    expect(() => ops.transpose(x, [0, 0, 1], { name: 'tp' })).toThrowError(
      /Node "tp": perm .* is not a permutation/,
    );
    expect(() => ops.concat([x, g.input('y', 'float32', [2, 4, 4])], 2, { name: 'c' })).toThrowError(
      /Node "c": inputs differ in dim 1/,
    );
    expect(() => ops.squeeze(x, [1], { name: 's' })).toThrowError(/cannot squeeze axis 1 of size 3/);
    expect(() => ops.gather(x, x, 0, { name: 'gi' })).toThrowError(/Node "gi": input indices/);
    expect(() => ops.split(x, [1, 1], 1, { name: 'sp' })).toThrowError(/sizes add up to 2, the axis has 3/);
    expect(() => ops.slice(x, [0], [1], [5], undefined, { name: 'sl' })).toThrowError(
      /axis 5 is out of range/,
    );
  });
});
