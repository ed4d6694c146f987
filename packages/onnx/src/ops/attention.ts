// ONNX Attention (opset 23): scaled dot-product attention with GQA heads, a mask, soft-cap and past.
import { attr, checkAttr, isInt } from '../graph/attributes.js';
import type { Value } from '../graph/graph-builder.js';
import { type Dim, dimsCompatible, graphError, type Shape } from '../graph/shape.js';
import { begin, expectDType, expectRank, FLOATS, type OpOptions, sameDType } from './common.js';

export interface AttentionOptions extends OpOptions {
  /** Needed for 3-D inputs [B, S, heads·D]. */
  qNumHeads?: number;
  kvNumHeads?: number;
  /** Defaults to 1/sqrt(head_size). */
  scale?: number;
  /** Tanh soft-cap, applied before the mask (as the ONNX reference does). */
  softcap?: number;
  isCausal?: boolean;
  /** bool (true = attend) or additive float mask, broadcastable to [B, qHeads, S, total]. */
  attnMask?: Value;
  /** [B, kvHeads, P, D]; present_key/value are returned when given. */
  pastKey?: Value;
  pastValue?: Value;
}

/**
 * Attention: Q [B, S, qH·D] or [B, qH, S, D]; K/V [B, L, kvH·D] or [B, kvH, L, D]. Output has Q's
 * layout with V's head size.
 */
export function attention(
  q: Value,
  k: Value,
  v: Value,
  o: AttentionOptions = {},
): { output: Value; presentKey?: Value; presentValue?: Value } {
  const { g, name } = begin('Attention', [q, k, v, o.attnMask, o.pastKey, o.pastValue], o);
  const dtype = sameDType(name, [
    ['Q', q],
    ['K', k],
    ['V', v],
    ['past_key', o.pastKey],
    ['past_value', o.pastValue],
  ]);
  expectDType(name, 'Q', q, FLOATS);
  expectRank(name, 'Q', q, [3, 4]);
  if (o.attnMask && o.attnMask.dtype !== 'bool' && o.attnMask.dtype !== dtype)
    throw graphError(name, `attn_mask must be bool or ${dtype}, got ${o.attnMask.dtype}`);
  if (o.attnMask?.shape && (o.attnMask.shape.length < 2 || o.attnMask.shape.length > 4))
    throw graphError(name, `attn_mask has rank ${o.attnMask.shape.length}; expected 2 to 4`);
  if (!!o.pastKey !== !!o.pastValue) throw graphError(name, 'give both past_key and past_value or neither');
  expectRank(name, 'past_key', o.pastKey, [4]);
  const rank = q.shape?.length;
  for (const [l, x] of [
    ['K', k],
    ['V', v],
  ] as const)
    if (rank !== undefined && x.shape && x.shape.length !== rank)
      throw graphError(name, `${l} must have Q's rank ${rank}`);
  if (o.softcap !== undefined) checkAttr(name, 'softcap', o.softcap >= 0, 'non-negative', o.softcap);
  let qH: Dim = null;
  let kvH: Dim = null;
  let d: Dim = null;
  let dv: Dim = null;
  if (rank === 3) {
    checkAttr(
      name,
      'q_num_heads',
      isInt(o.qNumHeads) && o.qNumHeads > 0,
      'a positive int (3-D inputs)',
      o.qNumHeads,
    );
    checkAttr(
      name,
      'kv_num_heads',
      isInt(o.kvNumHeads) && o.kvNumHeads > 0,
      'a positive int (3-D inputs)',
      o.kvNumHeads,
    );
    qH = o.qNumHeads!;
    kvH = o.kvNumHeads!;
    const per = (x: Value, h: number, l: string): Dim => {
      const hid = x.shape?.[2];
      if (typeof hid !== 'number') return null;
      if (hid % h !== 0) throw graphError(name, `${l} hidden size ${hid} is not divisible by ${h} heads`);
      return hid / h;
    };
    d = per(q, qH, 'Q');
    const dk = per(k, kvH, 'K');
    if (!dimsCompatible(d, dk)) throw graphError(name, `Q head size ${d} differs from K head size ${dk}`);
    dv = per(v, kvH, 'V');
  } else if (rank === 4) {
    qH = q.shape![1]!;
    kvH = k.shape?.[1] ?? null;
    d = q.shape![3]!;
    if (k.shape && !dimsCompatible(d, k.shape[3]!))
      throw graphError(name, `Q head size ${d} differs from K's ${k.shape[3]}`);
    dv = v.shape?.[3] ?? null;
  }
  if (typeof qH === 'number' && typeof kvH === 'number' && qH % kvH !== 0)
    throw graphError(name, `q heads ${qH} are not a multiple of kv heads ${kvH}`);
  const b = q.shape?.[0] ?? null;
  const s = rank === 3 ? q.shape![1]! : rank === 4 ? q.shape![2]! : null;
  const l = rank === 3 ? (k.shape?.[1] ?? null) : (k.shape?.[2] ?? null);
  const p = o.pastKey?.shape?.[2];
  const total: Dim = typeof l === 'number' && typeof p === 'number' ? l + p : null;
  const out: Shape =
    rank === 3
      ? [b, s, typeof qH === 'number' && typeof dv === 'number' ? qH * dv : null]
      : rank === 4
        ? [b, qH, s, dv]
        : null;
  const present: Shape = [b, kvH, total, d];
  const outs = g.addNode({
    opType: 'Attention',
    inputs: [q, k, v, o.attnMask, o.pastKey, o.pastValue],
    attrs: {
      q_num_heads: rank === 3 ? attr.int(o.qNumHeads!) : undefined,
      kv_num_heads: rank === 3 ? attr.int(o.kvNumHeads!) : undefined,
      scale: attr.optFloat(o.scale),
      softcap: attr.optFloat(o.softcap),
      is_causal: attr.optBool(o.isCausal),
    },
    outputs: o.pastKey
      ? [
          { dtype, shape: out },
          { dtype, shape: present },
          { dtype, shape: present },
        ]
      : [{ dtype, shape: out }],
    name,
    sinceOpset: 23,
  });
  return o.pastKey
    ? { output: outs[0]!, presentKey: outs[1]!, presentValue: outs[2]! }
    : { output: outs[0]! };
}
