// A representative subset of the op tests again through onnxruntime-web's wasm backend (in Node, one
// thread): the same models must run in browsers.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { f32, i32, i64, maxAbsDiff, rand, runWasm } from '../test/helpers/ort.js';
import { quantizeRows } from '../test/helpers/quant.js';
import * as ref from '../test/helpers/ref.js';
import { GraphBuilder } from './graph/graph-builder.js';
import {
  conv,
  gatherBlockQuantized,
  groupQueryAttention,
  layerNorm,
  matMul,
  matMulNBits,
  reshape,
  rotaryEmbedding,
  serializeModel,
  skipSimplifiedLayerNorm,
  softmax,
  tanh,
  transpose,
} from './index.js';
import { writeModel } from './node/write-model.js';

describe('onnxruntime-web (wasm) runs builder models like onnxruntime-node', () => {
  it('MatMul, Softmax, LayerNormalization, Tanh soft-cap, Reshape/Transpose, Conv', async () => {
    const A = ref.t(rand(2 * 3 * 8, 1), [2, 3, 8]);
    const W = ref.t(rand(8 * 8, 2), [8, 8]);
    const scale = rand(8, 3);
    const X = ref.t(rand(1 * 2 * 5 * 5, 4), [1, 2, 5, 5]);
    const CW = ref.t(rand(3 * 2 * 3 * 3, 5), [3, 2, 3, 3]);
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', [2, 3, 8]);
    const mm = matMul(a, g.initializer('w', 'float32', [8, 8], W.data));
    g.output(softmax(mm), 'softmax');
    g.output(layerNorm(a, g.initializer('s', 'float32', [8], scale), undefined, { epsilon: 1e-5 }), 'ln');
    g.output(tanh(mm), 'tanh');
    g.output(transpose(reshape(a, [2, 3, 2, 4]), [0, 2, 1, 3]), 'heads');
    g.output(
      conv(
        g.input('x', 'float32', [1, 2, 5, 5]),
        g.initializer('cw', 'float32', CW.shape, CW.data),
        undefined,
        { pads: [1, 1, 1, 1] },
      ),
      'conv',
    );
    const out = await runWasm(await serializeModel(g), { a: f32(A.data, A.shape), x: f32(X.data, X.shape) });
    const m = ref.matmul(A, W);
    expect(maxAbsDiff(out.softmax!.data as Float32Array, ref.softmax(m).data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.ln!.data as Float32Array, ref.layerNorm(A, scale, null, 1e-5).data)).toBeLessThan(
      1e-5,
    );
    expect(maxAbsDiff(out.tanh!.data as Float32Array, ref.map(m, Math.tanh).data)).toBeLessThan(1e-5);
    expect(Array.from(out.heads!.data as Float32Array)).toEqual(
      Array.from(ref.transpose(ref.t(A.data, [2, 3, 2, 4]), [0, 2, 1, 3]).data),
    );
    expect(
      maxAbsDiff(out.conv!.data as Float32Array, ref.conv2d(X, CW, null, { pads: [1, 1, 1, 1] }).data),
    ).toBeLessThan(1e-5);
  });

  it('contrib ops: MatMulNBits, GatherBlockQuantized, SkipSimplifiedLayerNormalization, RotaryEmbedding, GroupQueryAttention', async () => {
    const K = 64;
    const N = 8;
    const A = rand(2 * K, 11);
    const Wt = rand(N * K, 12);
    const q = quantizeRows(Wt, N, K, 32, 4, false);
    const table = quantizeRows(rand(4 * K, 13), 4, K, 32, 4, false);
    const H = 2;
    const D = 16;
    const S = 3;
    const caches = ref.ropeCaches(8, D);
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', [1, 2, K]);
    const y = matMulNBits(
      a,
      g.initializer('B', 'uint8', [N, 2, 16], q.packed),
      g.initializer('sc', 'float32', [N * 2], q.scales),
      {
        K,
        N,
        bits: 4,
        blockSize: 32,
        accuracyLevel: 4,
      },
    );
    g.output(y, 'nbits');
    const ids = g.input('ids', 'int64', [1, 2]);
    g.output(
      gatherBlockQuantized(
        g.initializer('tab', 'uint8', [4, K / 2], table.packed),
        ids,
        g.initializer('ts', 'float32', [4, 2], table.scales),
        { blockSize: 32 },
      ),
      'embed',
    );
    const ssln = skipSimplifiedLayerNorm(
      a,
      a,
      g.initializer('gm', 'float32', [K], new Float32Array(K).fill(2)),
      { epsilon: 1e-6 },
    );
    g.output(ssln.output, 'ssln');
    const qkv = g.input('qkv', 'float32', [1, S, H * D]);
    const pos = g.input('pos', 'int64', [1, S]);
    const cos = g.initializer('cos', 'float32', [8, D / 2], caches.cos);
    const sin = g.initializer('sin', 'float32', [8, D / 2], caches.sin);
    g.output(rotaryEmbedding(qkv, pos, cos, sin, { numHeads: H }), 'rope');
    const att = groupQueryAttention(qkv, qkv, qkv, g.input('sl', 'int32', [1]), g.input('tot', 'int32', []), {
      numHeads: H,
      kvNumHeads: H,
      softcap: 1,
    });
    g.output(att.output, 'gqa');
    const QKV = rand(S * H * D, 14);
    const out = await runWasm(await serializeModel(g), {
      a: f32(A, [1, 2, K]),
      ids: i64([3, 1], [1, 2]),
      qkv: f32(QKV, [1, S, H * D]),
      pos: i64([0, 1, 2], [1, S]),
      sl: i32([S - 1], [1]),
      tot: i32([S], []),
    });
    const want = ref.matmul(ref.t(A, [2, K]), ref.transpose(ref.t(q.deq, [N, K]), [1, 0])).data;
    expect(maxAbsDiff(out.nbits!.data as Float32Array, want)).toBeLessThan(0.05);
    expect(
      maxAbsDiff(out.embed!.data as Float32Array, [
        ...table.deq.subarray(3 * K, 4 * K),
        ...table.deq.subarray(K, 2 * K),
      ]),
    ).toBeLessThan(1e-6);
    const A2 = ref.map(ref.t(A, [1, 2, K]), (v) => 2 * v);
    expect(
      maxAbsDiff(out.ssln!.data as Float32Array, ref.rmsNorm(A2, new Float32Array(K).fill(2), 1e-6).data),
    ).toBeLessThan(1e-5);
    const rope = new Float32Array(QKV.length);
    for (let s = 0; s < S; s++)
      for (let h = 0; h < H; h++) {
        const at = (s * H + h) * D;
        rope.set(
          ref.ropeHalf(
            QKV.subarray(at, at + D),
            caches.cos.subarray(s * 8, s * 8 + 8),
            caches.sin.subarray(s * 8, s * 8 + 8),
          ),
          at,
        );
      }
    expect(maxAbsDiff(out.rope!.data as Float32Array, rope)).toBeLessThan(1e-5);
    expect(
      maxAbsDiff(
        out.gqa!.data as Float32Array,
        ref.attention(QKV, QKV, QKV, { S, T: S, H, Hkv: H, D, causal: true, softcap: 1 }),
      ),
    ).toBeLessThan(1e-5);
  });

  it('a model whose weights are in external data (given as bytes, as in browsers)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pali-onnx-wasm-'));
    try {
      const W = rand(64 * 32, 21);
      const g = new GraphBuilder();
      g.output(
        matMul(
          g.input('x', 'float32', [1, 64]),
          g.lazyInitializer('w', 'float32', [64, 32], () => W),
        ),
        'y',
      );
      await writeModel(g, join(dir, 'm.onnx'));
      const x = rand(64, 22);
      const out = await runWasm(
        await readFile(join(dir, 'm.onnx')),
        { x: f32(x, [1, 64]) },
        {
          externalData: [{ path: 'm.onnx_data', data: await readFile(join(dir, 'm.onnx_data')) }],
        },
      );
      expect(
        maxAbsDiff(out.y!.data as Float32Array, ref.matmul(ref.t(x, [1, 64]), ref.t(W, [64, 32])).data),
      ).toBeLessThan(1e-5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
