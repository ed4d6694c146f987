import { GraphBuilder, serializeModel } from '@pali/onnx';
import { describe, expect, it } from 'vitest';
import { type Backend, f32, matMulNT, maxAbs, maxAbsDiff, rand, runGraph } from '../test/helpers/ort.js';
import { dequantizeBlockwise, quantizeBlockwise } from './blockwise.js';
import { toFloat16 } from './float16.js';
import { linearFormat, type WeightFormat } from './formats.js';
import { linear } from './linear.js';
import { dequantizeNf4, quantizeNf4 } from './nf4.js';
import { dequantizePerChannel, quantizePerChannel } from './per-channel.js';

const M = 3;
const K = 200; // a multiple of none of 32, 64, 128: every block layout pads its last block
const N = 24;
const X = rand(M * K, 1);
const W = rand(N * K, 2, 0.5);
const BIAS = rand(N, 3);

const f16 = (v: number) => {
  const h = toFloat16(Float32Array.of(v))[0]!;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const s = h & 0x8000 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
};

/** DynamicQuantizeMatMul's reference: A quantized to uint8 over [min(0, a), max(0, a)] at run time. */
function dynamicReference(a: Float32Array, wDeq: Float32Array): Float32Array {
  const lo = Math.min(0, ...a);
  const hi = Math.max(0, ...a);
  const sa = Math.fround((hi - lo) / 255);
  const zpa = Math.round(-lo / sa);
  const aq = a.map((v) => (Math.min(255, Math.max(0, Math.round(v / sa) + zpa)) - zpa) * sa);
  return matMulNT(aq, wDeq, M, K, N);
}

interface Case {
  label: string;
  format: WeightFormat;
  want: Float32Array;
  /** Tolerance relative to max |want|. */
  tol: number;
  backends?: Backend[];
}

function cases(): Case[] {
  const out: Case[] = [
    { label: 'float32', format: { kind: 'float32' }, want: matMulNT(X, W, M, K, N), tol: 1e-6 },
  ];
  const xh = X.map(f16);
  const wh = W.map(f16);
  out.push({
    label: 'float16',
    format: { kind: 'float16' },
    want: matMulNT(xh, wh, M, K, N).map(f16),
    tol: 2e-3,
  });
  for (const bits of [4, 8] as const)
    for (const symmetric of [true, false])
      for (const blockSize of [32, 64, 128]) {
        const q = quantizeBlockwise(W, [N, K], { bits, blockSize, symmetric });
        const want = matMulNT(X, dequantizeBlockwise(q), M, K, N);
        const label = `q${bits} block ${blockSize} ${symmetric ? 'symmetric' : 'zero points'}`;
        out.push({
          label: `${label} accuracy 0`,
          format: { kind: 'blockwise', bits, blockSize, symmetric, accuracyLevel: 0 },
          want,
          tol: 1e-5,
        });
        // accuracy_level 4 quantizes A to int8 per block on CPU (wasm computes in float): ~1% of the output.
        if (blockSize === 32)
          out.push({
            label: `${label} accuracy 4`,
            format: { kind: 'blockwise', bits, blockSize, symmetric, accuracyLevel: 4 },
            want,
            tol: 2e-2,
          });
      }
  const qh = quantizeBlockwise(W, [N, K], { bits: 4, blockSize: 32, symmetric: true, scaleDtype: 'float16' });
  out.push({
    label: 'q4f16',
    format: linearFormat('q4f16'),
    want: matMulNT(xh, dequantizeBlockwise(qh), M, K, N),
    tol: 2e-2,
  });
  for (const symmetric of [true, false]) {
    const q = quantizePerChannel(W, [N, K], { symmetric });
    out.push({
      label: `DynamicQuantizeMatMul ${symmetric ? 'int8' : 'uint8 + zero points'}`,
      format: { kind: 'int8', symmetric },
      want: dynamicReference(X, dequantizePerChannel(q)),
      tol: 1e-5,
    });
  }
  for (const blockSize of [32, 64, 128])
    out.push({
      label: `nf4 block ${blockSize}`,
      format: { kind: 'nf4', blockSize },
      want: matMulNT(X, dequantizeNf4(quantizeNf4(W, [N, K], { blockSize })), M, K, N),
      tol: 1e-5,
    });
  return out;
}

describe('linear(): every weight format in onnxruntime equals x · dequant(W)ᵀ + b', () => {
  const all = cases();
  for (const backend of ['node', 'wasm'] as Backend[])
    it(`onnxruntime-${backend === 'node' ? 'node' : 'web (wasm)'}: ${all.length} formats, with and without bias`, async () => {
      const g = new GraphBuilder();
      const x = g.input('x', 'float32', ['m', K]);
      const bias = g.initializer('bias', 'float32', [N], BIAS);
      for (const [i, c] of all.entries()) {
        g.output(
          linear(x, `w${i}`, () => W, { N, K }, c.format),
          `y${i}`,
        );
        g.output(
          linear(x, `wb${i}`, () => W, { N, K }, c.format, { bias }),
          `yb${i}`,
        );
      }
      const out = await runGraph(g, { x: f32(X, [M, K]) }, backend);
      for (const [i, c] of all.entries()) {
        const y = out[`y${i}`]!;
        expect(y.dims).toEqual([M, N]);
        expect(y.type).toBe('float32');
        const scale = maxAbs(c.want);
        // wasm computes accuracy_level 4 in float: it gets the accuracy-0 tolerance.
        const tol = backend === 'wasm' && c.tol === 2e-2 && c.label.includes('accuracy') ? 1e-5 : c.tol;
        expect(maxAbsDiff(y.data as Float32Array, c.want) / scale, `${c.label} (${backend})`).toBeLessThan(
          tol,
        );
        const wantB = c.want.map((v, j) => v + BIAS[j % N]!);
        expect(
          maxAbsDiff(out[`yb${i}`]!.data as Float32Array, wantB) / scale,
          `${c.label} + bias`,
        ).toBeLessThan(tol + 1e-6);
      }
    }, 60_000);

  it('declares one initializer set per weight, named after it, and reads the source once per write', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['m', K]);
    let reads = 0;
    const src = () => {
      reads++;
      return W;
    };
    g.output(linear(x, 'a', src, { N, K }, { kind: 'blockwise', bits: 4, blockSize: 32, symmetric: false }));
    g.output(linear(x, 'b', src, { N, K }, { kind: 'int8' }));
    g.output(linear(x, 'c', src, { N, K }, { kind: 'nf4', blockSize: 64 }));
    g.output(linear(x, 'd', src, { N, K }, { kind: 'float16' }));
    expect(g.initializers.map((r) => `${r.name}:${r.dtype}[${r.dims.join(',')}]`)).toEqual([
      'a.q4:uint8[24,7,16]',
      'a.scales:float32[24,7]',
      'a.zero_points:uint8[24,4]',
      'b.int8:int8[200,24]',
      'b.scale:float32[24]',
      'c.nf4:uint8[2400]',
      'c.absmax:float32[75]',
      'd.T.fp16:float16[200,24]',
    ]);
    expect(reads).toBe(0); // nothing is read while the graph is built
    await serializeModel(g);
    expect(reads).toBe(4);
    await serializeModel(g);
    expect(reads).toBe(8);
  });

  it('rejects a source of the wrong size with a typed error naming the tensor', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, K]);
    g.output(linear(x, 'layer.w', () => W.subarray(1), { N, K }, linearFormat('q4')));
    await expect(serializeModel(g)).rejects.toThrow(/Weight layer\.w: its source gave 4799 float32 values/);
  });
});
