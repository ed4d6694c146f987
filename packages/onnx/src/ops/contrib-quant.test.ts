import { describe, expect, it } from 'vitest';
import { f32, i64, maxAbsDiff, rand, runGraph } from '../../test/helpers/ort.js';
import { packZeroPoints4, quantizeRows } from '../../test/helpers/quant.js';
import * as ref from '../../test/helpers/ref.js';
import { GraphBuilder } from '../graph/graph-builder.js';
import { dynamicQuantizeMatMul, gatherBlockQuantized, matMulNBits } from './contrib-quant.js';

const M = 3;
const K = 96;
const N = 8;
const A = ref.t(rand(M * K, 61), [M, K]);
const W = rand(N * K, 62); // [N, K]

function refMatMulNT(a: Float32Array, w: Float32Array): Float32Array {
  return ref.matmul(ref.t(a, [M, K]), ref.transpose(ref.t(w, [N, K]), [1, 0])).data;
}

describe('quantized contrib ops in onnxruntime-node vs TypeScript dequantization', () => {
  it('MatMulNBits: 4 and 8 bits, blocks 32/64 (K not a multiple), zero points, bias, accuracy_level 0 and 4', async () => {
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', ['m', K]);
    const cases = [
      { name: 'q4_b32', bits: 4 as const, block: 32, asym: false, level: 0 as const },
      { name: 'q4_b64_zp', bits: 4 as const, block: 64, asym: true, level: 0 as const },
      { name: 'q8_b32', bits: 8 as const, block: 32, asym: false, level: 0 as const },
      { name: 'q4_b32_acc4', bits: 4 as const, block: 32, asym: false, level: 4 as const },
    ];
    const bias = rand(N, 63);
    const wants: Record<string, [Float32Array, number]> = {};
    for (const c of cases) {
      const q = quantizeRows(W, N, K, c.block, c.bits, c.asym);
      const kBlocks = Math.ceil(K / c.block);
      const b = g.initializer(`${c.name}_B`, 'uint8', [N, kBlocks, (c.block * c.bits) / 8], q.packed);
      const s = g.initializer(`${c.name}_s`, 'float32', [N * kBlocks], q.scales);
      const zp = c.asym
        ? g.initializer(
            `${c.name}_zp`,
            'uint8',
            [N * Math.ceil(kBlocks / 2)],
            packZeroPoints4(q.zp, N, kBlocks),
          )
        : undefined;
      const biasV = c.asym ? g.initializer(`${c.name}_bias`, 'float32', [N], bias) : undefined;
      const y = matMulNBits(a, b, s, {
        K,
        N,
        bits: c.bits,
        blockSize: c.block,
        accuracyLevel: c.level,
        zeroPoints: zp,
        bias: biasV,
        name: c.name,
      });
      expect(y.shape).toEqual(['m', N]);
      g.output(y);
      let want = refMatMulNT(A.data, q.deq);
      if (c.asym) want = want.map((v, i) => v + bias[i % N]!);
      // accuracy_level 4 quantizes A to int8 per block: expect ~1% of the output scale.
      wants[c.name] = [want, c.level === 4 ? 0.05 : 1e-4];
    }
    const out = await runGraph(g, { a: f32(A.data, A.shape) });
    for (const [name, [want, tol]] of Object.entries(wants))
      expect(maxAbsDiff(out[name]!.data as Float32Array, want), name).toBeLessThan(tol);
  });

  it('GatherBlockQuantized: 4-bit packed uint8 table, default zero point 8 and explicit ones', async () => {
    const rows = 6;
    const D = 32;
    const table = rand(rows * D, 71);
    const q = quantizeRows(table, rows, D, 16, 4, false);
    const qa = quantizeRows(table, rows, D, 16, 4, true);
    const g = new GraphBuilder();
    const ids = g.input('ids', 'int64', ['b', 's']);
    const data = g.initializer('table', 'uint8', [rows, D / 2], q.packed);
    const y = gatherBlockQuantized(data, ids, g.initializer('scales', 'float32', [rows, 2], q.scales), {
      blockSize: 16,
    });
    expect(y.shape).toEqual(['b', 's', D]);
    g.output(y, 'y');
    const zp = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) zp[r] = qa.zp[r * 2]! | (qa.zp[r * 2 + 1]! << 4);
    g.output(
      gatherBlockQuantized(
        g.initializer('table_a', 'uint8', [rows, D / 2], qa.packed),
        ids,
        g.initializer('scales_a', 'float32', [rows, 2], qa.scales),
        {
          blockSize: 16,
          gatherAxis: 0,
          quantizeAxis: 1,
          zeroPoints: g.initializer('zp', 'uint8', [rows, 1], zp),
        },
      ),
      'y_zp',
    );
    const idx = [1, 5, 0, 0];
    const out = await runGraph(g, { ids: i64(idx, [2, 2]) });
    expect(out.y!.dims).toEqual([2, 2, D]);
    const rowsOf = (deq: Float32Array) => idx.flatMap((r) => Array.from(deq.subarray(r * D, r * D + D)));
    expect(maxAbsDiff(out.y!.data as Float32Array, rowsOf(q.deq))).toBeLessThan(1e-6);
    expect(maxAbsDiff(out.y_zp!.data as Float32Array, rowsOf(qa.deq))).toBeLessThan(1e-6);
  });

  it('DynamicQuantizeMatMul: int8 weights with per-column scales, bias', async () => {
    const Kd = 16;
    const a = rand(M * Kd, 81);
    const wq = Int8Array.from(rand(Kd * N, 82), (v) => Math.round(v * 127));
    const bs = Float32Array.from(rand(N, 83), (v) => 0.01 + Math.abs(v) * 0.02);
    const bias = rand(N, 84);
    const g = new GraphBuilder();
    const av = g.input('a', 'float32', [M, Kd]);
    g.output(
      dynamicQuantizeMatMul(
        av,
        g.initializer('b', 'int8', [Kd, N], wq),
        g.initializer('bs', 'float32', [N], bs),
        {
          bias: g.initializer('bias', 'float32', [N], bias),
        },
      ),
      'y',
    );
    const out = await runGraph(g, { a: f32(a, [M, Kd]) });
    // A is quantized to uint8 over its whole range (zero included) at run time, as ORT documents.
    const lo = Math.min(0, ...a);
    const hi = Math.max(0, ...a);
    const sa = Math.fround((hi - lo) / 255);
    const zpa = Math.round(-lo / sa);
    const want = new Float32Array(M * N);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < Kd; k++)
          acc += (Math.min(255, Math.max(0, Math.round(a[m * Kd + k]! / sa) + zpa)) - zpa) * wq[k * N + n]!;
        want[m * N + n] = acc * sa * bs[n]! + bias[n]!;
      }
    expect(maxAbsDiff(out.y!.data as Float32Array, want)).toBeLessThan(1e-4);
  });

  it('checks quantization attributes and sizes at build time', () => {
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', [1, 64]);
    const b = g.input('b', 'uint8', [8, 2, 16]);
    const s = g.input('s', 'float32', [16]);
    expect(() => matMulNBits(a, b, s, { K: 64, N: 8, bits: 4, blockSize: 24, name: 'q' })).toThrowError(
      /Node "q": attribute block_size must be a power of two/,
    );
    expect(() => matMulNBits(a, b, s, { K: 64, N: 4, bits: 4, blockSize: 32, name: 'q2' })).toThrowError(
      /Node "q2": B has shape/,
    );
    const a32 = g.input('a32', 'float32', [1, 32]);
    expect(() => matMulNBits(a32, b, s, { K: 64, N: 8, bits: 4, blockSize: 32, name: 'q3' })).toThrowError(
      /A has K=32/,
    );
    expect(() =>
      matMulNBits(a, b, g.input('s16', 'float16', [16]), { K: 64, N: 8, bits: 4, blockSize: 32, name: 'q4' }),
    ).toThrowError(/Node "q4": input scales \("s16"\) is float16 but A is float32/);
  });
});
