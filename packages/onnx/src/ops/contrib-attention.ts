// Attention contrib ops: GroupQueryAttention, MultiHeadAttention, RotaryEmbedding (com.microsoft).
import { attr, checkAttr, isInt } from '../graph/attributes.js';
import type { Value } from '../graph/graph-builder.js';
import { type Dim, dimsCompatible, graphError, type Shape } from '../graph/shape.js';
import {
  begin,
  expectDType,
  expectRank,
  FLOAT16_32,
  MS_DOMAIN,
  type OpOptions,
  sameDType,
} from './common.js';

function hiddenOf(v: Value): Dim {
  return v.shape ? v.shape[v.shape.length - 1]! : null;
}

function checkHeads(name: string, label: string, hidden: Dim, heads: number): Dim {
  checkAttr(
    name,
    label === 'query' ? 'num_heads' : 'kv_num_heads',
    isInt(heads) && heads > 0,
    'a positive int',
    heads,
  );
  if (typeof hidden !== 'number') return null;
  if (hidden % heads !== 0)
    throw graphError(name, `${label} hidden size ${hidden} is not divisible by ${heads} heads`);
  return hidden / heads;
}

export interface GroupQueryAttentionOptions extends OpOptions {
  numHeads: number;
  kvNumHeads: number;
  /** Defaults to 1/sqrt(head_size). */
  scale?: number;
  /** Tanh soft-cap of the attention logits (Gemma 2: 50); 0 = none. */
  softcap?: number;
  /** Sliding window (Gemma 2 local layers); -1 = none. */
  localWindowSize?: number;
  /** 1 (default) causal; 0 full attention, which with a prefix-LM attentionBias gives prefix-LM. */
  causal?: boolean;
  doRotary?: boolean;
  rotaryInterleaved?: boolean;
  pastKey?: Value;
  pastValue?: Value;
  cosCache?: Value;
  sinCache?: Value;
  positionIds?: Value;
  /** Additive bias [B or 1, H or 1, S, total]. */
  attentionBias?: Value;
}

/**
 * GroupQueryAttention: query [B, S, H·D], key/value [B, S, kvH·D], KV cache [B, kvH, past, D] in BNSH.
 * seqlensK is int32 [B] (total length − 1 per row); totalSequenceLength an int32 scalar.
 */
export function groupQueryAttention(
  query: Value,
  key: Value,
  value: Value,
  seqlensK: Value,
  totalSequenceLength: Value,
  o: GroupQueryAttentionOptions,
): { output: Value; presentKey: Value; presentValue: Value } {
  const { g, name } = begin(
    'GroupQueryAttention',
    [
      query,
      key,
      value,
      o.pastKey,
      o.pastValue,
      seqlensK,
      totalSequenceLength,
      o.cosCache,
      o.sinCache,
      o.positionIds,
      o.attentionBias,
    ],
    o,
  );
  const dtype = sameDType(name, [
    ['query', query],
    ['key', key],
    ['value', value],
    ['past_key', o.pastKey],
    ['past_value', o.pastValue],
    ['cos_cache', o.cosCache],
    ['sin_cache', o.sinCache],
    ['attention_bias', o.attentionBias],
  ]);
  expectDType(name, 'query', query, FLOAT16_32);
  expectDType(name, 'seqlens_k', seqlensK, ['int32']);
  expectDType(name, 'total_sequence_length', totalSequenceLength, ['int32']);
  expectDType(name, 'position_ids', o.positionIds, ['int64']);
  expectRank(name, 'query', query, [3]);
  expectRank(name, 'key', key, [3]);
  expectRank(name, 'value', value, [3]);
  expectRank(name, 'past_key', o.pastKey, [4]);
  if (!!o.pastKey !== !!o.pastValue) throw graphError(name, 'give both past_key and past_value or neither');
  if (o.doRotary && (!o.cosCache || !o.sinCache))
    throw graphError(name, 'do_rotary needs cos_cache and sin_cache');
  const d = checkHeads(name, 'query', hiddenOf(query), o.numHeads);
  const dk = checkHeads(name, 'key', hiddenOf(key), o.kvNumHeads);
  if (o.numHeads % o.kvNumHeads !== 0)
    throw graphError(name, `num_heads ${o.numHeads} is not a multiple of kv_num_heads ${o.kvNumHeads}`);
  if (!dimsCompatible(d, dk)) throw graphError(name, `query head size ${d} differs from key head size ${dk}`);
  if (o.softcap !== undefined) checkAttr(name, 'softcap', o.softcap >= 0, 'non-negative', o.softcap);
  const b = query.shape?.[0] ?? null;
  const s = query.shape?.[1] ?? null;
  if (o.doRotary && typeof d === 'number' && d % 16 !== 0)
    throw graphError(
      name,
      `do_rotary needs a head size that is a multiple of 16, got ${d}`,
      'Apply RotaryEmbedding before the attention instead',
    );
  // With a past cache ORT sizes present by total_sequence_length (or the past buffer if larger), which is
  // only known at run time.
  const present: Shape = [b, o.kvNumHeads, o.pastKey ? null : s, d ?? dk];
  const [output, presentKey, presentValue] = g.addNode({
    opType: 'GroupQueryAttention',
    domain: MS_DOMAIN,
    inputs: [
      query,
      key,
      value,
      o.pastKey,
      o.pastValue,
      seqlensK,
      totalSequenceLength,
      o.cosCache,
      o.sinCache,
      o.positionIds,
      o.attentionBias,
    ],
    attrs: {
      num_heads: attr.int(o.numHeads),
      kv_num_heads: attr.int(o.kvNumHeads),
      scale: attr.optFloat(o.scale),
      softcap: attr.optFloat(o.softcap),
      local_window_size: attr.optInt(o.localWindowSize),
      do_rotary: attr.optBool(o.doRotary),
      rotary_interleaved: attr.optBool(o.rotaryInterleaved),
      ...(o.causal === undefined ? {} : { causal: attr.int(o.causal ? 1 : 0) }),
    },
    outputs: [
      { dtype, shape: query.shape },
      { dtype, shape: present },
      { dtype, shape: present },
    ],
    name,
  });
  return { output: output!, presentKey: presentKey!, presentValue: presentValue! };
}

export interface MultiHeadAttentionOptions extends OpOptions {
  numHeads: number;
  scale?: number;
  unidirectional?: boolean;
  maskFilterValue?: number;
  /** Additive bias [B or 1, H or 1, S, total]. */
  attentionBias?: Value;
  pastKey?: Value;
  pastValue?: Value;
  keyPaddingMask?: Value;
}

/**
 * MultiHeadAttention: query [B, S, H·D], key/value [B, L, H·D] (KV heads repeated to H by the caller),
 * optional past [B, H, P, D]; output [B, S, H·Dv] and, with past, present [B, H, P+L, D].
 */
export function multiHeadAttention(
  query: Value,
  key: Value,
  value: Value,
  o: MultiHeadAttentionOptions,
): { output: Value; presentKey?: Value; presentValue?: Value } {
  const { g, name } = begin(
    'MultiHeadAttention',
    [query, key, value, o.keyPaddingMask, o.attentionBias, o.pastKey, o.pastValue],
    o,
  );
  const dtype = sameDType(name, [
    ['query', query],
    ['key', key],
    ['value', value],
    ['attention_bias', o.attentionBias],
    ['past_key', o.pastKey],
    ['past_value', o.pastValue],
  ]);
  expectDType(name, 'query', query, FLOAT16_32);
  expectRank(name, 'query', query, [3]);
  expectRank(name, 'key', key, [3]);
  expectRank(name, 'value', value, [3]);
  expectDType(name, 'key_padding_mask', o.keyPaddingMask, ['int32']);
  if (!!o.pastKey !== !!o.pastValue) throw graphError(name, 'give both past_key and past_value or neither');
  const d = checkHeads(name, 'query', hiddenOf(query), o.numHeads);
  const dk = checkHeads(name, 'key', hiddenOf(key), o.numHeads);
  if (!dimsCompatible(d, dk)) throw graphError(name, `query head size ${d} differs from key head size ${dk}`);
  const outHidden = hiddenOf(value);
  const out: Shape = query.shape ? [query.shape[0]!, query.shape[1]!, outHidden] : null;
  const withPast = !!o.pastKey;
  const l = key.shape?.[1];
  const p = o.pastKey?.shape?.[2];
  const total: Dim = typeof l === 'number' && typeof p === 'number' ? l + p : null;
  const present: Shape = [query.shape?.[0] ?? null, o.numHeads, total, d];
  const outs = g.addNode({
    opType: 'MultiHeadAttention',
    domain: MS_DOMAIN,
    inputs: [query, key, value, null, o.keyPaddingMask, o.attentionBias, o.pastKey, o.pastValue],
    attrs: {
      num_heads: attr.int(o.numHeads),
      scale: attr.optFloat(o.scale),
      unidirectional: attr.optBool(o.unidirectional),
      mask_filter_value: attr.optFloat(o.maskFilterValue),
    },
    outputs: withPast
      ? [
          { dtype, shape: out },
          { dtype, shape: present },
          { dtype, shape: present },
        ]
      : [{ dtype, shape: out }],
    name,
  });
  return withPast ? { output: outs[0]!, presentKey: outs[1]!, presentValue: outs[2]! } : { output: outs[0]! };
}

export interface RotaryEmbeddingOptions extends OpOptions {
  interleaved?: boolean;
  /** Needed for 3-D input when only part of each head is rotated. */
  numHeads?: number;
  rotaryEmbeddingDim?: number;
  scale?: number;
}

/**
 * com.microsoft RotaryEmbedding: input [B, S, H·D] or [B, H, S, D]; positionIds int64 [B, S];
 * cos/sin caches [maxPos, rotaryDim/2]. Non-interleaved is the HF (rotate_half) layout.
 */
export function rotaryEmbedding(
  x: Value,
  positionIds: Value,
  cosCache: Value,
  sinCache: Value,
  o: RotaryEmbeddingOptions = {},
): Value {
  const { g, name } = begin('RotaryEmbedding', [x, positionIds, cosCache, sinCache], o);
  sameDType(name, [
    ['input', x],
    ['cos_cache', cosCache],
    ['sin_cache', sinCache],
  ]);
  expectDType(name, 'input', x, FLOAT16_32);
  expectDType(name, 'position_ids', positionIds, ['int64']);
  expectRank(name, 'input', x, [3, 4]);
  expectRank(name, 'cos_cache', cosCache, [2]);
  if (o.numHeads !== undefined) checkHeads(name, 'query', hiddenOf(x), o.numHeads);
  const half = cosCache.shape?.[1];
  if (o.rotaryEmbeddingDim !== undefined && typeof half === 'number' && half * 2 !== o.rotaryEmbeddingDim)
    throw graphError(
      name,
      `cos_cache has ${half} columns, rotary_embedding_dim ${o.rotaryEmbeddingDim} needs its half`,
    );
  if (x.shape?.length === 4 && typeof half === 'number' && o.rotaryEmbeddingDim === undefined) {
    const hd = x.shape[3];
    if (typeof hd === 'number' && hd !== half * 2)
      throw graphError(name, `head size ${hd} but cos_cache covers ${half * 2}; set rotaryEmbeddingDim`);
  }
  return g.addNode({
    opType: 'RotaryEmbedding',
    domain: MS_DOMAIN,
    inputs: [x, positionIds, cosCache, sinCache],
    attrs: {
      interleaved: attr.optBool(o.interleaved),
      num_heads: attr.optInt(o.numHeads),
      rotary_embedding_dim: attr.optInt(o.rotaryEmbeddingDim),
      scale: attr.optFloat(o.scale),
    },
    outputs: [{ dtype: x.dtype, shape: x.shape }],
    name,
  })[0]!;
}
