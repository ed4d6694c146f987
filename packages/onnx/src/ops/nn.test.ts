import { describe, expect, it } from 'vitest';
import { f32, maxAbsDiff, rand, runGraph } from '../../test/helpers/ort.js';
import * as ref from '../../test/helpers/ref.js';
import { GraphBuilder } from '../graph/graph-builder.js';
import { f16ArrayToF32, f32ArrayToF16 } from '../half.js';
import { simplifiedLayerNorm } from './contrib-norm.js';
import { cast, mul } from './elementwise.js';
import * as ops from './nn.js';
import { reshape, shapeOf } from './tensor.js';

const A = ref.t(rand(2 * 3 * 5, 11), [2, 3, 5]);
const B = ref.t(rand(5 * 4, 12), [5, 4]);

describe('nn ops in onnxruntime-node vs TypeScript', () => {
  it('MatMul (batched, broadcast) and Gemm (transposes, alpha, beta, bias)', async () => {
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', ['b', 3, 5]);
    const w = g.initializer('w', 'float32', [5, 4], B.data);
    const a2 = g.input('a2', 'float32', [5, 3]);
    const c = g.initializer('c', 'float32', [4], Float32Array.of(1, -2, 3, 0.5));
    const mm = ops.matMul(a, w);
    expect(mm.shape).toEqual(['b', 3, 4]);
    g.output(mm, 'mm');
    g.output(ops.gemm(a2, w, c, { transA: true, alpha: 0.5, beta: 2 }), 'gemm');
    const A2 = ref.t(rand(15, 13), [5, 3]);
    const out = await runGraph(g, { a: f32(A.data, A.shape), a2: f32(A2.data, A2.shape) });
    expect(maxAbsDiff(out.mm!.data as Float32Array, ref.matmul(A, B).data)).toBeLessThan(1e-5);
    const gm = ref.matmul(ref.transpose(A2, [1, 0]), B);
    const want = ref.binary(
      ref.map(gm, (v) => v * 0.5),
      ref.t([1, -2, 3, 0.5], [4]),
      (x, y) => x + 2 * y,
    );
    expect(out.gemm!.dims).toEqual([3, 4]);
    expect(maxAbsDiff(out.gemm!.data as Float32Array, want.data)).toBeLessThan(1e-5);
  });

  it('Conv (stride, pads, dilation, groups) and ConvTranspose', async () => {
    const X = ref.t(rand(1 * 4 * 6 * 7, 21), [1, 4, 6, 7]);
    const W = ref.t(rand(6 * 2 * 3 * 3, 22), [6, 2, 3, 3]);
    const bias = rand(6, 23);
    const WT = ref.t(rand(4 * 3 * 4 * 4, 24), [4, 3, 4, 4]);
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, 4, 6, 7]);
    const co = { strides: [2, 1], pads: [1, 0, 1, 2], dilations: [1, 2], group: 2 };
    const y = ops.conv(
      x,
      g.initializer('w', 'float32', W.shape, W.data),
      g.initializer('b', 'float32', [6], bias),
      co,
    );
    const ct = { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 0] };
    const z = ops.convTranspose(x, g.initializer('wt', 'float32', WT.shape, WT.data), undefined, ct);
    const refConv = ref.conv2d(X, W, bias, co);
    const refCt = ref.convTranspose2d(X, WT, null, ct);
    expect(y.shape).toEqual(refConv.shape);
    expect(z.shape).toEqual(refCt.shape);
    g.output(y, 'conv');
    g.output(z, 'convt');
    const out = await runGraph(g, { x: f32(X.data, X.shape) });
    expect(maxAbsDiff(out.conv!.data as Float32Array, refConv.data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.convt!.data as Float32Array, refCt.data)).toBeLessThan(1e-5);
  });

  it('Resize nearest (×2) and linear (half_pixel, to sizes)', async () => {
    const X = ref.t(rand(2 * 3 * 4, 31), [1, 2, 3, 4]);
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, 2, 3, 4]);
    const near = ops.resize(x, {
      mode: 'nearest',
      scales: [1, 1, 2, 2],
      coordinateTransformationMode: 'asymmetric',
      nearestMode: 'floor',
    });
    const lin = ops.resize(x, { mode: 'linear', sizes: [1, 2, 5, 7] });
    expect(near.shape).toEqual([1, 2, 6, 8]);
    g.output(near, 'near');
    g.output(lin, 'lin');
    const out = await runGraph(g, { x: f32(X.data, X.shape) });
    const wantNear: number[] = [];
    for (let c = 0; c < 2; c++)
      for (let h = 0; h < 6; h++)
        for (let w = 0; w < 8; w++) wantNear.push(X.data[(c * 3 + (h >> 1)) * 4 + (w >> 1)]!);
    expect(Array.from(out.near!.data as Float32Array)).toEqual(wantNear);
    const src = (o: number, inp: number, outp: number) =>
      Math.min(Math.max(((o + 0.5) * inp) / outp - 0.5, 0), inp - 1);
    const wantLin: number[] = [];
    for (let c = 0; c < 2; c++)
      for (let h = 0; h < 5; h++)
        for (let w = 0; w < 7; w++) {
          const yh = src(h, 3, 5);
          const xw = src(w, 4, 7);
          const h0 = Math.floor(yh);
          const w0 = Math.floor(xw);
          const h1 = Math.min(h0 + 1, 2);
          const w1 = Math.min(w0 + 1, 3);
          const v = (hh: number, ww: number) => X.data[(c * 3 + hh) * 4 + ww]!;
          const fh = yh - h0;
          const fw = xw - w0;
          wantLin.push(
            (v(h0, w0) * (1 - fw) + v(h0, w1) * fw) * (1 - fh) + (v(h1, w0) * (1 - fw) + v(h1, w1) * fw) * fh,
          );
        }
    expect(maxAbsDiff(out.lin!.data as Float32Array, wantLin)).toBeLessThan(1e-5);
  });

  it('Softmax, LayerNormalization, Gelu (erf and tanh), reductions, ArgMax', async () => {
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', [2, 3, 5]);
    const scale = rand(5, 41);
    const bias = rand(5, 42);
    g.output(ops.softmax(a, -1), 'softmax');
    g.output(
      ops.layerNorm(a, g.initializer('s', 'float32', [5], scale), g.initializer('bb', 'float32', [5], bias), {
        epsilon: 1e-6,
      }),
      'ln',
    );
    g.output(ops.gelu(a), 'gelu');
    g.output(ops.gelu(a, 'tanh'), 'gelu_tanh');
    const rm = ops.reduceMean(a, [-1]);
    expect(rm.shape).toEqual([2, 3, 1]);
    g.output(rm, 'mean');
    g.output(ops.reduceSum(a, [0, 2], { keepdims: false }), 'sum');
    g.output(ops.reduceMax(a, [1]), 'max');
    g.output(ops.argMax(a, -1, { keepdims: false }), 'argmax');
    const out = await runGraph(g, { a: f32(A.data, A.shape) });
    const got = (k: string) => out[k]!.data as Float32Array;
    expect(maxAbsDiff(got('softmax'), ref.softmax(A).data)).toBeLessThan(1e-6);
    expect(maxAbsDiff(got('ln'), ref.layerNorm(A, scale, bias, 1e-6).data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got('gelu'), ref.map(A, ref.geluErf).data)).toBeLessThan(1e-6);
    expect(maxAbsDiff(got('gelu_tanh'), ref.map(A, ref.geluTanh).data)).toBeLessThan(1e-6);
    const rows = Array.from({ length: 6 }, (_, r) => Array.from(A.data.subarray(r * 5, r * 5 + 5)));
    expect(
      maxAbsDiff(
        got('mean'),
        rows.map((r) => r.reduce((x, y) => x + y) / 5),
      ),
    ).toBeLessThan(1e-6);
    const sums = [0, 1, 2].map((j) =>
      [0, 1].reduce((s, i) => s + rows[i * 3 + j]!.reduce((x, y) => x + y), 0),
    );
    expect(maxAbsDiff(got('sum'), sums)).toBeLessThan(1e-5);
    expect(out.max!.dims).toEqual([2, 1, 5]);
    const maxes = [0, 1].flatMap((i) =>
      [0, 1, 2, 3, 4].map((k) => Math.max(...[0, 1, 2].map((j) => rows[i * 3 + j]![k]!))),
    );
    expect(Array.from(got('max'))).toEqual(maxes);
    expect(Array.from(out.argmax!.data as BigInt64Array, Number)).toEqual(
      rows.map((r) => r.indexOf(Math.max(...r))),
    );
  });

  it('RMSNormalization (opset 23), and refuses it below 23 at build time', async () => {
    const scale = rand(5, 51);
    const g = new GraphBuilder({ opset: 23 });
    const a = g.input('a', 'float32', [2, 3, 5]);
    g.output(ops.rmsNorm(a, g.initializer('s', 'float32', [5], scale), { epsilon: 1e-6 }), 'y');
    const out = await runGraph(g, { a: f32(A.data, A.shape) });
    expect(maxAbsDiff(out.y!.data as Float32Array, ref.rmsNorm(A, scale, 1e-6).data)).toBeLessThan(1e-5);
    const g21 = new GraphBuilder();
    const b = g21.input('a', 'float32', [5]);
    expect(() => ops.rmsNorm(b, b, { name: 'rms' })).toThrowError(
      /Node "rms": RMSNormalization needs ONNX opset 23/,
    );
  });

  it('checks shapes, dtypes and attributes at build time', () => {
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', [2, 3, 5]);
    const b = g.input('b', 'float32', [4, 4]);
    const h = g.input('h', 'float16', [5, 4]);
    expect(() => ops.matMul(a, b, { name: 'mm' })).toThrowError(
      /Node "mm": inner dims differ: A has K=5, B has K=4/,
    );
    expect(() => ops.matMul(a, h, { name: 'mm2' })).toThrowError(/Node "mm2": input B \("h"\) is float16/);
    const x = g.input('x', 'float32', [1, 4, 6, 6]);
    const w = g.input('w', 'float32', [6, 3, 3, 3]);
    expect(() => ops.conv(x, w, undefined, { name: 'cv', group: 2 })).toThrowError(
      /Node "cv": X has 4 channels but W expects 3 × group 2/,
    );
    expect(() =>
      ops.conv(x, g.input('w2', 'float32', [6, 4, 3, 3]), undefined, { name: 'cv2', strides: [0, 1] }),
    ).toThrowError(/Node "cv2": attribute strides must be 2 positive ints/);
    expect(() => ops.resize(x, { name: 'rs', scales: [2, 2] })).toThrowError(
      /Node "rs": scales has 2 entries for rank 4/,
    );
  });

  it('float16: MatMul, SimplifiedLayerNormalization, a scalar operand, Cast, and Reshape to a runtime shape', async () => {
    const a16 = f32ArrayToF16(A.data);
    const b16 = f32ArrayToF16(B.data);
    const g = new GraphBuilder();
    const a = g.input('a', 'float16', [2, 3, 5]);
    const mm = mul(ops.matMul(a, g.initializer('w', 'float16', [5, 4], b16)), 0.5);
    const n = simplifiedLayerNorm(
      mm,
      g.initializer('s', 'float16', [4], f32ArrayToF16(Float32Array.of(1, 2, 3, 4))),
      { epsilon: 1e-6 },
    );
    g.output(cast(n, 'float32'), 'y');
    g.output(reshape(a, shapeOf(g.input('like', 'float32', [6, 5]))), 'r');
    const out = await runGraph(g, {
      a: { type: 'float16', data: a16, dims: [2, 3, 5] },
      like: f32(new Float32Array(30), [6, 5]),
    });
    const m = ref.map(
      ref.matmul(ref.t(f16ArrayToF32(a16), [2, 3, 5]), ref.t(f16ArrayToF32(b16), [5, 4])),
      (v) => v * 0.5,
    );
    // fp16 intermediates: compare at fp16 precision.
    expect(maxAbsDiff(out.y!.data as Float32Array, ref.rmsNorm(m, [1, 2, 3, 4], 1e-6).data)).toBeLessThan(
      1e-2,
    );
    expect(out.r!.dims).toEqual([6, 5]);
    expect(Array.from(out.r!.data as Uint16Array)).toEqual(Array.from(a16));
  });
});
