import { describe, expect, it } from 'vitest';
import { f32, runGraph } from '../test/helpers/ort.js';
import { GraphBuilder } from './graph/graph-builder.js';
import { add, matMul } from './index.js';

describe('smoke', () => {
  it('runs', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['b', 2]);
    const w = g.initializer('w', 'float32', [2, 2], Float32Array.of(1, 2, 3, 4));
    g.output(add(matMul(x, w), 1), 'y');
    const out = await runGraph(g, { x: f32([1, 1], [1, 2]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([5, 7]);
  });
});
