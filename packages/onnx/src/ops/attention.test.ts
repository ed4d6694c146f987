import { describe, expect, it } from 'vitest';
import { f32, maxAbsDiff, rand, runGraph } from '../../test/helpers/ort.js';
import * as ref from '../../test/helpers/ref.js';
import { GraphBuilder } from '../graph/graph-builder.js';
import { attention } from './attention.js';

const S = 5;
const H = 4;
const KV = 2;
const D = 8;

function toBNSH(x: Float32Array, T: number, heads: number): Float32Array {
  return ref.transpose(ref.t(x, [T, heads, D]), [1, 0, 2]).data;
}

describe('ONNX Attention (opset 23) in onnxruntime-node vs TypeScript', () => {
  it('3-D GQA inputs with a prefix-LM float mask and soft-cap (soft-cap before the mask)', async () => {
    const q = rand(S * H * D, 201);
    const k = rand(S * KV * D, 202);
    const v = rand(S * KV * D, 203);
    const mask = new Float32Array(S * S);
    for (let i = 0; i < S; i++)
      for (let j = 0; j < S; j++) mask[i * S + j] = j < 2 || j <= i ? 0 : Number.NEGATIVE_INFINITY;
    const g = new GraphBuilder({ opset: 23 });
    const res = attention(
      g.input('q', 'float32', [1, 'S', H * D]),
      g.input('k', 'float32', [1, 'S', KV * D]),
      g.input('v', 'float32', [1, 'S', KV * D]),
      {
        qNumHeads: H,
        kvNumHeads: KV,
        softcap: 0.7,
        attnMask: g.input('mask', 'float32', [1, 1, 'S', 'S']),
      },
    );
    expect(res.output.shape).toEqual([1, 'S', H * D]);
    g.output(res.output, 'y');
    const out = await runGraph(g, {
      q: f32(q, [1, S, H * D]),
      k: f32(k, [1, S, KV * D]),
      v: f32(v, [1, S, KV * D]),
      mask: f32(mask, [1, 1, S, S]),
    });
    const want = ref.attention(q, k, v, { S, T: S, H, Hkv: KV, D, softcap: 0.7, bias: mask });
    expect(maxAbsDiff(out.y!.data as Float32Array, want)).toBeLessThan(1e-5);
  });

  it('4-D inputs with a past KV cache and is_causal', async () => {
    const T = 6;
    const P = 4;
    const s = T - P;
    const q = rand(s * H * D, 211);
    const k = rand(T * KV * D, 212);
    const v = rand(T * KV * D, 213);
    const g = new GraphBuilder({ opset: 23 });
    const res = attention(
      g.input('q', 'float32', [1, H, s, D]),
      g.input('k', 'float32', [1, KV, s, D]),
      g.input('v', 'float32', [1, KV, s, D]),
      {
        isCausal: true,
        pastKey: g.input('pk', 'float32', [1, KV, P, D]),
        pastValue: g.input('pv', 'float32', [1, KV, P, D]),
      },
    );
    expect(res.presentKey!.shape).toEqual([1, KV, T, D]);
    g.output(res.output, 'y');
    g.output(res.presentKey!, 'present_key');
    const kB = toBNSH(k, T, KV);
    const vB = toBNSH(v, T, KV);
    const slice = (x: Float32Array, from: number, to: number) => {
      const o: number[] = [];
      for (let h = 0; h < KV; h++) o.push(...x.subarray((h * T + from) * D, (h * T + to) * D));
      return Float32Array.from(o);
    };
    const out = await runGraph(g, {
      q: f32(toBNSH(q, s, H), [1, H, s, D]),
      k: f32(slice(kB, P, T), [1, KV, s, D]),
      v: f32(slice(vB, P, T), [1, KV, s, D]),
      pk: f32(slice(kB, 0, P), [1, KV, P, D]),
      pv: f32(slice(vB, 0, P), [1, KV, P, D]),
    });
    const want = ref.attention(q, k, v, { S: s, T, H, Hkv: KV, D, causal: true, pastLen: P });
    expect(maxAbsDiff(out.y!.data as Float32Array, toBNSH(want, s, H))).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.present_key!.data as Float32Array, kB)).toBe(0);
  });

  it('checks opset, heads and mask at build time', () => {
    const g21 = new GraphBuilder();
    const x = g21.input('x', 'float32', [1, 2, 4, 8]);
    expect(() => attention(x, x, x, { name: 'a' })).toThrowError(/Node "a": Attention needs ONNX opset 23/);
    const g = new GraphBuilder({ opset: 23 });
    const q3 = g.input('q', 'float32', [1, 3, 32]);
    expect(() => attention(q3, q3, q3, { name: 'b' })).toThrowError(
      /Node "b": attribute q_num_heads must be a positive int/,
    );
    expect(() => attention(q3, q3, q3, { qNumHeads: 4, kvNumHeads: 3, name: 'c' })).toThrowError(
      /K hidden size 32 is not divisible by 3/,
    );
    expect(() =>
      attention(q3, q3, q3, {
        qNumHeads: 4,
        kvNumHeads: 4,
        attnMask: g.input('m', 'int32', [3, 3]),
        name: 'd',
      }),
    ).toThrowError(/Node "d": attn_mask must be bool or float32/);
  });
});
