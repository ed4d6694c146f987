import { describe, expect, it } from 'vitest';
import { f32, maxAbsDiff, rand, runGraph } from '../../test/helpers/ort.js';
import * as ref from '../../test/helpers/ref.js';
import { GraphBuilder } from '../graph/graph-builder.js';
import {
  fastGelu,
  msGelu,
  simplifiedLayerNorm,
  skipLayerNorm,
  skipSimplifiedLayerNorm,
} from './contrib-norm.js';

const H = 16;
const X = ref.t(rand(2 * 3 * H, 91, 3), [2, 3, H]);
const S = ref.t(rand(2 * 3 * H, 92), [2, 3, H]);

describe('normalization and activation contrib ops in onnxruntime-node vs TypeScript', () => {
  it('SimplifiedLayerNormalization, SkipSimplifiedLayerNormalization, SkipLayerNormalization, FastGelu, Gelu', async () => {
    const gamma = rand(H, 93);
    const beta = rand(H, 94);
    const bias = rand(H, 95);
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['b', 's', H]);
    const skip = g.input('skip', 'float32', ['b', 's', H]);
    const gm = g.initializer('gamma', 'float32', [H], gamma);
    const bt = g.initializer('beta', 'float32', [H], beta);
    const bs = g.initializer('bias', 'float32', [H], bias);
    g.output(simplifiedLayerNorm(x, gm, { epsilon: 1e-6 }), 'rms');
    const ssln = skipSimplifiedLayerNorm(x, skip, gm, { epsilon: 1e-6 });
    g.output(ssln.output, 'ssln');
    g.output(ssln.sum, 'ssln_sum');
    const sln = skipLayerNorm(x, skip, gm, bt, { epsilon: 1e-5, bias: bs });
    g.output(sln.output, 'sln');
    g.output(sln.sum, 'sln_sum');
    g.output(fastGelu(x, bs), 'fastgelu');
    g.output(msGelu(x), 'gelu');
    const out = await runGraph(g, { x: f32(X.data, X.shape), skip: f32(S.data, S.shape) });
    const got = (k: string) => out[k]!.data as Float32Array;
    const sum = ref.binary(X, S, (a, b) => a + b);
    const sumB = ref.binary(sum, ref.t(bias, [H]), (a, b) => a + b);
    expect(maxAbsDiff(got('rms'), ref.rmsNorm(X, gamma, 1e-6).data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got('ssln'), ref.rmsNorm(sum, gamma, 1e-6).data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got('ssln_sum'), sum.data)).toBeLessThan(1e-6);
    expect(maxAbsDiff(got('sln'), ref.layerNorm(sumB, gamma, beta, 1e-5).data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got('sln_sum'), sumB.data)).toBeLessThan(1e-6);
    const xb = ref.binary(X, ref.t(bias, [H]), (a, b) => a + b);
    expect(maxAbsDiff(got('fastgelu'), ref.map(xb, ref.geluTanh).data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got('gelu'), ref.map(X, ref.geluErf).data)).toBeLessThan(1e-5);
  });

  it('checks hidden sizes and dtypes at build time', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, 2, H]);
    const wrong = g.input('w', 'float32', [H + 1]);
    expect(() => skipSimplifiedLayerNorm(x, x, wrong, { name: 'ssln' })).toThrowError(
      /Node "ssln": gamma has 17 elements but the hidden size is 16/,
    );
    expect(() => fastGelu(g.input('i', 'int32', [2]), undefined, { name: 'fg' })).toThrowError(
      /Node "fg": input X \("i"\) is int32/,
    );
  });
});
