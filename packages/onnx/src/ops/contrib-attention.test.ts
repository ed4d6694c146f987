import { describe, expect, it } from 'vitest';
import { f32, i32, i64, maxAbsDiff, rand, runGraph } from '../../test/helpers/ort.js';
import * as ref from '../../test/helpers/ref.js';
import { GraphBuilder } from '../graph/graph-builder.js';
import { groupQueryAttention, multiHeadAttention, rotaryEmbedding } from './contrib-attention.js';

const S = 5;
const H = 4;
const KV = 2;
const D = 16;
const q = rand(S * H * D, 101);
const k = rand(S * KV * D, 102);
const v = rand(S * KV * D, 103);

/** [T, Hkv, D] (token-major) → [Hkv, T, D] (BNSH for one batch row). */
function toBNSH(x: Float32Array, T: number, heads: number): Float32Array {
  return ref.transpose(ref.t(x, [T, heads, D]), [1, 0, 2]).data;
}

function gqaGraph(o: {
  causal?: boolean;
  softcap?: number;
  bias?: boolean;
  past?: number;
  rotary?: boolean;
}) {
  const g = new GraphBuilder();
  const s = o.past ? 1 : S;
  const qv = g.input('q', 'float32', [1, s, H * D]);
  const kv = g.input('k', 'float32', [1, s, KV * D]);
  const vv = g.input('v', 'float32', [1, s, KV * D]);
  const caches = ref.ropeCaches(16, D);
  const res = groupQueryAttention(
    qv,
    kv,
    vv,
    g.input('seqlens_k', 'int32', [1]),
    g.input('total', 'int32', []),
    {
      numHeads: H,
      kvNumHeads: KV,
      softcap: o.softcap,
      causal: o.causal,
      attentionBias: o.bias ? g.input('bias', 'float32', [1, 1, s, S]) : undefined,
      pastKey: o.past ? g.input('past_key', 'float32', [1, KV, o.past, D]) : undefined,
      pastValue: o.past ? g.input('past_value', 'float32', [1, KV, o.past, D]) : undefined,
      doRotary: o.rotary,
      cosCache: o.rotary ? g.initializer('cos', 'float32', [16, D / 2], caches.cos) : undefined,
      sinCache: o.rotary ? g.initializer('sin', 'float32', [16, D / 2], caches.sin) : undefined,
    },
  );
  g.output(res.output, 'out');
  g.output(res.presentKey, 'present_key');
  return { g, res, caches };
}

describe('attention contrib ops in onnxruntime-node vs TypeScript', () => {
  it('GroupQueryAttention: causal prompt, and soft-cap', async () => {
    for (const softcap of [undefined, 0.5]) {
      const { g, res } = gqaGraph({ softcap });
      expect(res.presentKey.shape).toEqual([1, KV, S, D]);
      const out = await runGraph(g, {
        q: f32(q, [1, S, H * D]),
        k: f32(k, [1, S, KV * D]),
        v: f32(v, [1, S, KV * D]),
        seqlens_k: i32([S - 1], [1]),
        total: i32([S], []),
      });
      const want = ref.attention(q, k, v, { S, T: S, H, Hkv: KV, D, causal: true, softcap });
      expect(maxAbsDiff(out.out!.data as Float32Array, want), `softcap ${softcap}`).toBeLessThan(1e-5);
      expect(maxAbsDiff(out.present_key!.data as Float32Array, toBNSH(k, S, KV))).toBe(0);
    }
  });

  it('GroupQueryAttention: causal=0 with a prefix-LM bias gives prefix-LM attention', async () => {
    const { g } = gqaGraph({ causal: false, bias: true });
    const prefix = 3;
    const bias = new Float32Array(S * S);
    for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) bias[i * S + j] = j < prefix || j <= i ? 0 : -1e9;
    const out = await runGraph(g, {
      q: f32(q, [1, S, H * D]),
      k: f32(k, [1, S, KV * D]),
      v: f32(v, [1, S, KV * D]),
      seqlens_k: i32([S - 1], [1]),
      total: i32([S], []),
      bias: f32(bias, [1, 1, S, S]),
    });
    const want = ref.attention(q, k, v, { S, T: S, H, Hkv: KV, D, bias });
    expect(maxAbsDiff(out.out!.data as Float32Array, want)).toBeLessThan(1e-5);
  });

  it('GroupQueryAttention: one decode step over a past KV cache', async () => {
    const P = S - 1;
    const { g, res } = gqaGraph({ past: P });
    expect(res.presentKey.shape).toEqual([1, KV, null, D]);
    const qLast = q.subarray((S - 1) * H * D);
    const out = await runGraph(g, {
      q: f32(qLast, [1, 1, H * D]),
      k: f32(k.subarray(P * KV * D), [1, 1, KV * D]),
      v: f32(v.subarray(P * KV * D), [1, 1, KV * D]),
      past_key: f32(toBNSH(k.subarray(0, P * KV * D), P, KV), [1, KV, P, D]),
      past_value: f32(toBNSH(v.subarray(0, P * KV * D), P, KV), [1, KV, P, D]),
      seqlens_k: i32([S - 1], [1]),
      total: i32([S], []),
    });
    const want = ref.attention(qLast, k, v, { S: 1, T: S, H, Hkv: KV, D });
    expect(maxAbsDiff(out.out!.data as Float32Array, want)).toBeLessThan(1e-5);
    expect(out.present_key!.dims).toEqual([1, KV, S, D]);
    expect(maxAbsDiff(out.present_key!.data as Float32Array, toBNSH(k, S, KV))).toBe(0);
  });

  it('GroupQueryAttention: do_rotary with cos/sin caches (positions from seqlens)', async () => {
    const { g, caches } = gqaGraph({ rotary: true });
    const out = await runGraph(g, {
      q: f32(q, [1, S, H * D]),
      k: f32(k, [1, S, KV * D]),
      v: f32(v, [1, S, KV * D]),
      seqlens_k: i32([S - 1], [1]),
      total: i32([S], []),
    });
    const rot = (x: Float32Array, heads: number) => {
      const o = new Float32Array(x.length);
      for (let s = 0; s < S; s++)
        for (let h = 0; h < heads; h++) {
          const at = (s * heads + h) * D;
          o.set(
            ref.ropeHalf(
              x.subarray(at, at + D),
              caches.cos.subarray((s * D) / 2, ((s + 1) * D) / 2),
              caches.sin.subarray((s * D) / 2, ((s + 1) * D) / 2),
            ),
            at,
          );
        }
      return o;
    };
    const want = ref.attention(rot(q, H), rot(k, KV), v, { S, T: S, H, Hkv: KV, D, causal: true });
    expect(maxAbsDiff(out.out!.data as Float32Array, want)).toBeLessThan(1e-5);
  });

  it('MultiHeadAttention: attention_bias, then past KV', async () => {
    const T = 6;
    const qm = rand(S * H * D, 111);
    const km = rand(T * H * D, 112);
    const vm = rand(T * H * D, 113);
    const bias = rand(S * T, 114, 2);
    const g = new GraphBuilder();
    const res = multiHeadAttention(
      g.input('q', 'float32', [1, S, H * D]),
      g.input('k', 'float32', [1, T, H * D]),
      g.input('v', 'float32', [1, T, H * D]),
      {
        numHeads: H,
        attentionBias: g.input('bias', 'float32', [1, 1, S, T]),
      },
    );
    g.output(res.output, 'out');
    const out = await runGraph(g, {
      q: f32(qm, [1, S, H * D]),
      k: f32(km, [1, T, H * D]),
      v: f32(vm, [1, T, H * D]),
      bias: f32(bias, [1, 1, S, T]),
    });
    expect(
      maxAbsDiff(out.out!.data as Float32Array, ref.attention(qm, km, vm, { S, T, H, Hkv: H, D, bias })),
    ).toBeLessThan(1e-5);

    const P = T - 1;
    const g2 = new GraphBuilder();
    const r2 = multiHeadAttention(
      g2.input('q', 'float32', [1, 1, H * D]),
      g2.input('k', 'float32', [1, 1, H * D]),
      g2.input('v', 'float32', [1, 1, H * D]),
      {
        numHeads: H,
        pastKey: g2.input('pk', 'float32', [1, H, P, D]),
        pastValue: g2.input('pv', 'float32', [1, H, P, D]),
      },
    );
    expect(r2.presentKey!.shape).toEqual([1, H, T, D]);
    g2.output(r2.output, 'out');
    g2.output(r2.presentValue!, 'present_value');
    const last = qm.subarray(0, H * D);
    const out2 = await runGraph(g2, {
      q: f32(last, [1, 1, H * D]),
      k: f32(km.subarray(P * H * D), [1, 1, H * D]),
      v: f32(vm.subarray(P * H * D), [1, 1, H * D]),
      pk: f32(toBNSH(km.subarray(0, P * H * D), P, H), [1, H, P, D]),
      pv: f32(toBNSH(vm.subarray(0, P * H * D), P, H), [1, H, P, D]),
    });
    expect(
      maxAbsDiff(out2.out!.data as Float32Array, ref.attention(last, km, vm, { S: 1, T, H, Hkv: H, D })),
    ).toBeLessThan(1e-5);
    expect(maxAbsDiff(out2.present_value!.data as Float32Array, toBNSH(vm, T, H))).toBe(0);
  });

  it('RotaryEmbedding: 3-D [B, S, H·D] and 4-D [B, H, S, D] inputs, arbitrary positions', async () => {
    const caches = ref.ropeCaches(16, D);
    const x = rand(S * H * D, 121);
    const pos = [0, 3, 4, 9, 15];
    const g = new GraphBuilder();
    const p = g.input('pos', 'int64', [1, S]);
    const cos = g.initializer('cos', 'float32', [16, D / 2], caches.cos);
    const sin = g.initializer('sin', 'float32', [16, D / 2], caches.sin);
    g.output(rotaryEmbedding(g.input('x', 'float32', [1, S, H * D]), p, cos, sin, { numHeads: H }), 'y3');
    g.output(rotaryEmbedding(g.input('x4', 'float32', [1, H, S, D]), p, cos, sin), 'y4');
    const out = await runGraph(g, {
      x: f32(x, [1, S, H * D]),
      x4: f32(toBNSH(x, S, H), [1, H, S, D]),
      pos: i64(pos, [1, S]),
    });
    const want = new Float32Array(x.length);
    for (let s = 0; s < S; s++)
      for (let h = 0; h < H; h++) {
        const at = (s * H + h) * D;
        const row = (c: Float32Array) => c.subarray((pos[s]! * D) / 2, ((pos[s]! + 1) * D) / 2);
        want.set(ref.ropeHalf(x.subarray(at, at + D), row(caches.cos), row(caches.sin)), at);
      }
    expect(maxAbsDiff(out.y3!.data as Float32Array, want)).toBeLessThan(1e-6);
    expect(maxAbsDiff(out.y4!.data as Float32Array, toBNSH(want, S, H))).toBeLessThan(1e-6);
  });

  it('checks heads, dtypes and inputs at build time', () => {
    const g = new GraphBuilder();
    const qv = g.input('q', 'float32', [1, 2, 30]);
    const kv = g.input('k', 'float32', [1, 2, 16]);
    const sl = g.input('sl', 'int32', [1]);
    const tt = g.input('t', 'int32', []);
    expect(() =>
      groupQueryAttention(qv, kv, kv, sl, tt, { numHeads: 4, kvNumHeads: 2, name: 'gqa' }),
    ).toThrowError(/Node "gqa": query hidden size 30 is not divisible by 4 heads/);
    const q32 = g.input('q32', 'float32', [1, 2, 32]);
    expect(() =>
      groupQueryAttention(q32, kv, kv, g.input('sl64', 'int64', [1]), tt, {
        numHeads: 4,
        kvNumHeads: 2,
        name: 'gqa2',
      }),
    ).toThrowError(/Node "gqa2": input seqlens_k \("sl64"\) is int64/);
    expect(() =>
      groupQueryAttention(q32, kv, kv, sl, tt, { numHeads: 4, kvNumHeads: 2, doRotary: true, name: 'gqa3' }),
    ).toThrowError(/do_rotary needs cos_cache/);
    const cs = g.input('cs', 'float32', [16, 4]);
    expect(() =>
      groupQueryAttention(q32, kv, kv, sl, tt, {
        numHeads: 4,
        kvNumHeads: 2,
        doRotary: true,
        cosCache: cs,
        sinCache: cs,
        name: 'gqa4',
      }),
    ).toThrowError(/Node "gqa4": do_rotary needs a head size that is a multiple of 16, got 8/);
    expect(() =>
      multiHeadAttention(q32, g.input('h', 'float16', [1, 2, 32]), kv, { numHeads: 4, name: 'mha' }),
    ).toThrowError(/Node "mha": input key \("h"\) is float16/);
  });
});
