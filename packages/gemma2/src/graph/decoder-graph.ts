import { ERROR_CODES, PaliError } from '@pali/errors';
import { GraphWeights, type PaliGemmaConfig, type WeightProvider } from '@pali/model-folder';
import {
  add,
  and,
  attr,
  cast,
  concat,
  div,
  equal,
  expand,
  GraphBuilder,
  gather,
  gelu,
  gemm,
  groupQueryAttention,
  int64s,
  less,
  lessOrEqual,
  matMul,
  min,
  mul,
  or,
  range,
  reshape,
  rotaryEmbedding,
  scalar,
  shapeOf,
  simplifiedLayerNorm,
  slice,
  softmax,
  split,
  squeeze,
  sub,
  tanh,
  transpose,
  unsqueeze,
  type Value,
  where,
} from '@pali/onnx';
import {
  embeddingFormat,
  linearFormat,
  type ModelDType,
  linear as quantizedLinear,
  tiedEmbedding,
  withBlockSize,
} from '@pali/quantize';
import { ropeTables } from './rope.js';

export const TEXT_PREFIX = 'language_model.model.';

/** The onnx-community decoder_model_merged I/O (REFERENCE.md §9), which we keep. */
export const DECODER_IO = {
  inputsEmbeds: 'inputs_embeds',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  logits: 'logits',
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
  /**
   * Ours only: the keys (after RoPE) and values of this run's positions, [B, S, kvH·D]. A step that
   * fetches these instead of `present` leaves the cache to the caller, which appends them to its own
   * buffer: onnxruntime-node 1.30 copies every fetched output into a new ArrayBuffer, so fetching the
   * whole cache back each step cost 10-40 ms (224-448 px); these are 4 KiB per layer. transformers.js
   * reads only `present.*` and `logits`.
   */
  newKey: (layer: number) => `new_key_values.${layer}.key`,
  newValue: (layer: number) => `new_key_values.${layer}.value`,
  /**
   * Ours only, in prompt-pass parts (DecoderGraphOptions.layers): the residual stream [B, S, H] between
   * two parts (before the next layer's input norm), taken by every part but the first and returned by
   * every part but the last.
   */
  hiddenStates: 'hidden_states',
  hiddenStatesOut: 'hidden_states_out',
} as const;

export interface DecoderGraphOptions {
  /**
   * Mask even layers to the last `sliding_window` keys as HF transformers 5.x does. Off by default:
   * the checkpoints were trained without it (big_vision), and it only matters past 4096 tokens.
   */
  slidingWindow?: boolean;
  /** Weight format of the Linear layers and of the tied head; default fp32. */
  dtype?: ModelDType;
  /**
   * Weight format of the Linear layers alone, when it differs from the head's: the int8 prefill graph
   * uses q8 (DynamicQuantizeMatMul, ~2.5× MatMulNBits' int4 rate on a long prompt) with the q4 head
   * of the decoder it pairs with, so that both can share that head's tensors.
   */
  layerDtype?: ModelDType;
  /**
   * Give the head its own int8 per-channel copy of the table (a DynamicQuantizeMatMul) instead of the
   * tied one: for the prefill graph, which never gathers, so that nothing in it needs weight
   * prepacking and its session can map the weights straight from the file (loads in ~0.05 s).
   */
  int8Head?: boolean;
  /** Block size of blockwise formats (q4, q4f16, the tied table); default 32. */
  blockSize?: number;
  /** Leave out the final soft-cap (only to compare with HF 5.x, which omits it). */
  omitFinalSoftcap?: boolean;
  /**
   * The step graph (`decoder_step*.onnx`): the caller keeps the KV cache. Each past input is a buffer
   * [B, kvH, capacity, D] whose first (total − S) positions are valid; attention is plain MatMuls over
   * it plus this run's keys, and the graph returns logits and new_key_values only (no present).
   * GroupQueryAttention, given a past it does not share with its present, zero-fills a new present
   * and copies the whole cache into it (once per query head) every run: 7.6 against 4.8 ms a step
   * for 3B at 267 positions, 29.8 against 16.9 ms at 1035.
   */
  callerKeptCache?: boolean;
  /**
   * Build the decoder the way the onnx-community exports are (no attention_mask input, so no padding
   * mask; logits for every position), to test that loaders accept both kinds.
   */
  exportStyle?: boolean;
  /**
   * Build one part of the prompt pass: layers [from, to) only, taking `hidden_states` (or, for the
   * first part, inputs_embeds) and returning `hidden_states_out` and the parts' new keys. The part
   * that ends the stack stops at its last layer's keys and values and has no head: the caller runs
   * the prompt's last token again as a step for the logits (it sees exactly the keys that token sees
   * in the prompt: all of them). Parts run in turn as short-lived sessions, so that only one part's
   * weights are in memory at a time. Needs callerKeptCache.
   */
  layers?: { from: number; to: number };
}

/** Bias value for masked positions: float32's lowest, as HF's eager attention uses. */
const MASKED = -3.4028234663852886e38;

/**
 * The Gemma 2 decoder (REFERENCE.md §4, §5) with the onnx-community I/O: inputs_embeds [B, S, H],
 * attention_mask int64 [B, past + S], position_ids int64 [B, S] (1-based), past [B, kvH, past, D]
 * → logits [B, 1, V] for the last position, present [B, kvH, past + S, D].
 *
 * Inside: inputs × √H; prefix-LM attention (every valid position of a chunk sees every other when the
 * cache is empty, causal when it is not; padding never attended); GQA with query_pre_attn_scalar and
 * soft-cap 50; RoPE; the four RMSNorms with (1 + w); gelu-tanh GLU; final norm; tied head; soft-cap 30.
 */
export function buildDecoderGraph(
  config: PaliGemmaConfig,
  weights: WeightProvider,
  options: DecoderGraphOptions = {},
): GraphBuilder {
  const t = config.textConfig;
  const H = t.hiddenSize;
  const D = t.headDim;
  const g = new GraphBuilder({ name: 'gemma2_decoder', opset: 21 });
  const w = new GraphWeights(g, weights);
  const format = withBlockSize(
    linearFormat(options.layerDtype ?? options.dtype ?? 'fp32'),
    options.blockSize,
  );
  const linear = (x: Value, name: string, inF: number, outF: number) => {
    w.checkShape(`${name}.weight`, [outF, inF]);
    return quantizedLinear(x, name, () => weights.read(`${name}.weight`), { N: outF, K: inF }, format);
  };
  const norm = (x: Value, name: string) =>
    simplifiedLayerNorm(x, w.tensor(`${TEXT_PREFIX}${name}.weight`, [H], plusOne), { epsilon: t.rmsNormEps });

  const L = t.numHiddenLayers;
  const { from, to } = options.layers ?? { from: 0, to: L };
  const part = options.layers !== undefined;
  if (part && (!options.callerKeptCache || from < 0 || to > L || from >= to)) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `Layers [${from}, ${to}) of a ${L}-layer decoder`, {
      hint: 'A prompt-pass part needs callerKeptCache and 0 ≤ from < to ≤ the layer count',
    });
  }
  // Symbolic dims named as in the onnx-community exports: transformers.js sizes its empty cache by them.
  const embeds = g.input(from === 0 ? DECODER_IO.inputsEmbeds : DECODER_IO.hiddenStates, 'float32', [
    'batch_size',
    'sequence_length',
    H,
  ]);
  const attentionMask = options.exportStyle
    ? undefined
    : g.input(DECODER_IO.attentionMask, 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = g.input(DECODER_IO.positionIds, 'int64', ['batch_size', 'sequence_length']);
  const past: { key: Value; value: Value }[] = [];
  for (let i = from; i < to; i++)
    past[i] = {
      key: g.input(DECODER_IO.pastKey(i), 'float32', [
        'batch_size',
        t.numKeyValueHeads,
        'past_sequence_length',
        D,
      ]),
      value: g.input(DECODER_IO.pastValue(i), 'float32', [
        'batch_size',
        t.numKeyValueHeads,
        'past_sequence_length',
        D,
      ]),
    };

  let maskValues: MaskValues | undefined;
  const mask = () => {
    maskValues ??= attentionMaskValues(g, embeds, past[from]!.key, attentionMask);
    return maskValues;
  };
  const slidingMask = options.slidingWindow ? slidingBias(g, mask(), t.slidingWindow) : undefined;
  if (options.callerKeptCache && (options.slidingWindow || options.exportStyle || !attentionMask)) {
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      'The step graph has no sliding-window or export-style form',
      {
        hint: 'Build it without slidingWindow and exportStyle',
      },
    );
  }
  // Built on first use: a part with no attention layer (the stack's last layer alone) reads no bias,
  // and ONNX Runtime runs nodes whose outputs nothing reads.
  let slots: CacheSlots | undefined;
  const callerBias = options.callerKeptCache
    ? () => {
        slots ??= cacheSlotBias(g, mask(), past[from]!.key, embeds, t.numAttentionHeads / t.numKeyValueHeads);
        return slots;
      }
    : undefined;
  const gqa = callerBias ? undefined : gqaMask(g, mask(), embeds);
  const { cos, sin } = ropeTables(D, t.ropeTheta, t.maxPositionEmbeddings);
  const cosCache = g.initializer('rope_cos', 'float32', [t.maxPositionEmbeddings + 1, D / 2], cos);
  const sinCache = g.initializer('rope_sin', 'float32', [t.maxPositionEmbeddings + 1, D / 2], sin);

  // One matmul for q, k and v and one for gate and up (fewer, wider kernels; the weights are simply
  // stacked by rows, so quantized blocks are the same as apart), then split.
  const stacked = (x: Value, name: string, parts: readonly [string, number][], inF: number): Value[] => {
    for (const [part, outF] of parts) w.checkShape(`${part}.weight`, [outF, inF]);
    const N = parts.reduce((n, [, outF]) => n + outF, 0);
    const read = async () => {
      const out = new Float32Array(N * inF);
      let row = 0;
      for (const [part, outF] of parts) {
        out.set(await weights.read(`${part}.weight`), row * inF);
        row += outF;
      }
      return out;
    };
    const y = quantizedLinear(x, name, read, { N, K: inF }, format);
    return split(
      y,
      parts.map(([, outF]) => outF),
      -1,
    );
  };
  const gamma = (name: string) => w.tensor(`${TEXT_PREFIX}${name}.weight`, [H], plusOne);
  const eps = { epsilon: t.rmsNormEps };
  // Residual add, then the RMSNorm that follows, as plain nodes: ORT 1.30's CPU
  // SkipSimplifiedLayerNormalization took about twice as long as Add + SimplifiedLayerNormalization
  // (52 norms of a 266-token prompt: 22-23 against 12-13 ms).
  const residualNorm = (y: Value, residual: Value, name: string) => {
    const sum = add(y, residual);
    return { sum, output: simplifiedLayerNorm(sum, gamma(name), eps) };
  };

  // HF multiplies by √H rounded to the activation dtype (float32); a later part gets the stream as is.
  let x = from === 0 ? mul(embeds, Math.fround(Math.sqrt(H))) : embeds;
  // Each residual add is followed by the norm after it (residualNorm).
  let h = norm(x, `layers.${from}.input_layernorm`);
  for (let i = from; i < to; i++) {
    const p = `${TEXT_PREFIX}layers.${i}.`;
    const [q0, k0, v] = stacked(
      h,
      `${p}self_attn.qkv_proj`,
      [
        [`${p}self_attn.q_proj`, t.numAttentionHeads * D],
        [`${p}self_attn.k_proj`, t.numKeyValueHeads * D],
        [`${p}self_attn.v_proj`, t.numKeyValueHeads * D],
      ],
      H,
    ) as [Value, Value, Value];
    const k = rotaryEmbedding(k0, positionIds, cosCache, sinCache, { numHeads: t.numKeyValueHeads });
    if (part && i === L - 1) {
      // The last layer of a part that ends the stack: only its keys and values are read (the
      // prompt's last token runs again as a step, which gives the logits).
      g.output(k, DECODER_IO.newKey(i));
      g.output(v, DECODER_IO.newValue(i));
      return g;
    }
    const q = rotaryEmbedding(q0, positionIds, cosCache, sinCache, { numHeads: t.numAttentionHeads });
    const sliding = slidingMask !== undefined && i % 2 === 0;
    let attnOutput: Value;
    if (callerBias) {
      attnOutput = cachedAttention(q, k, v, past[i]!.key, past[i]!.value, callerBias(), t);
    } else {
      const attn = groupQueryAttention(q, k, v, gqa!.seqlensK, gqa!.totalLength, {
        numHeads: t.numAttentionHeads,
        kvNumHeads: t.numKeyValueHeads,
        scale: t.queryPreAttnScalar ** -0.5,
        ...(t.attnLogitSoftcapping ? { softcap: t.attnLogitSoftcapping } : {}),
        causal: false,
        pastKey: past[i]!.key,
        pastValue: past[i]!.value,
        attentionBias: sliding ? slidingMask : gqa!.bias,
      });
      g.output(attn.presentKey, DECODER_IO.presentKey(i));
      g.output(attn.presentValue, DECODER_IO.presentValue(i));
      attnOutput = attn.output;
    }
    if (!options.exportStyle) {
      g.output(k, DECODER_IO.newKey(i));
      g.output(v, DECODER_IO.newValue(i));
    }
    const o = linear(attnOutput, `${p}self_attn.o_proj`, t.numAttentionHeads * D, H);
    const afterAttn = residualNorm(
      norm(o, `layers.${i}.post_attention_layernorm`),
      x,
      `layers.${i}.pre_feedforward_layernorm`,
    );
    x = afterAttn.sum;
    const [gate, up] = stacked(
      afterAttn.output,
      `${p}mlp.gate_up_proj`,
      [
        [`${p}mlp.gate_proj`, t.intermediateSize],
        [`${p}mlp.up_proj`, t.intermediateSize],
      ],
      H,
    ) as [Value, Value];
    const down = linear(mul(gelu(gate, 'tanh'), up), `${p}mlp.down_proj`, t.intermediateSize, H);
    const d = norm(down, `layers.${i}.post_feedforward_layernorm`);
    if (part && i + 1 === to) {
      g.output(add(x, d), DECODER_IO.hiddenStatesOut);
      return g;
    }
    if (i + 1 < t.numHiddenLayers) {
      const next = residualNorm(d, x, `layers.${i + 1}.input_layernorm`);
      x = next.sum;
      h = next.output;
    } else {
      x = add(x, d);
    }
  }
  // Only the last position's logits are needed for generation: slice before the norm and the head.
  const last = norm(options.exportStyle ? x : slice(x, [-1], [Number.MAX_SAFE_INTEGER], [1]), 'norm');
  // Tied head: logits = h · Eᵀ with E as stored [V, H] (quantized like the other weights when asked).
  const flat = options.int8Head
    ? int8Head(reshape(last, [-1, H]), weights, t.vocabSize, H)
    : tiedHead(g, weights, t.vocabSize, H, options.dtype ?? 'fp32', options.blockSize).head(
        reshape(last, [-1, H]),
      );
  const outShape = options.exportStyle
    ? concat([shapeOf(x, 0, 2), int64s(g, [t.vocabSize])], 0)
    : [-1, 1, t.vocabSize];
  let logits = reshape(flat, outShape);
  if (t.finalLogitSoftcapping && !options.omitFinalSoftcap) {
    const cap = t.finalLogitSoftcapping;
    logits = mul(tanh(div(logits, cap)), cap);
  }
  g.output(logits, DECODER_IO.logits);
  return g;
}

function plusOne(w: Float32Array): Float32Array {
  // Gemma's RMSNorm scales by (1 + w), computed in float32 as HF does.
  return w.map((v) => v + 1);
}

/** logits = h · Eᵀ with E quantized to int8 per row (its own initializers, named lm_head_int8). */
function int8Head(h: Value, weights: WeightProvider, V: number, H: number): Value {
  const name = `${TEXT_PREFIX}embed_tokens.weight`;
  new GraphWeights(h.graph, weights).checkShape(name, [V, H]);
  return quantizedLinear(
    h,
    'lm_head_int8',
    () => weights.read(name),
    { N: V, K: H },
    {
      kind: 'int8',
      symmetric: true,
    },
  );
}

/** The tied embedding table as one (possibly quantized) initializer set. */
export function tiedHead(
  g: GraphBuilder,
  weights: WeightProvider,
  V: number,
  H: number,
  dtype: ModelDType,
  blockSize?: number,
) {
  const name = `${TEXT_PREFIX}embed_tokens.weight`;
  new GraphWeights(g, weights).checkShape(name, [V, H]);
  const format = withBlockSize(embeddingFormat(dtype), blockSize);
  return tiedEmbedding(g, name, () => weights.read(name), { V, H }, format);
}

interface MaskValues {
  /** allowed as bool [B, 1, S, total], for derived masks. */
  allowed: Value;
  /** Absolute positions of the chunk's queries [S, 1] and of all keys [1, total] (0-based). */
  queryIndex: Value;
  keyIndex: Value;
  /** Scalars (int64): the positions seen in all, this run's, and those before it. */
  total: Value;
  seq: Value;
  pastLength: Value;
}

/**
 * Prefix-LM + padding mask from attention_mask [B, total]: a key is visible when it is not padding
 * and either the cache is empty (prefill: bidirectional over the whole chunk) or it is not after the
 * query (continuation: causal).
 */
function attentionMaskValues(
  g: GraphBuilder,
  embeds: Value,
  pastKey: Value,
  attentionMask: Value | undefined,
): MaskValues {
  const zero = scalar(g, 'int64', 0);
  const one = scalar(g, 'int64', 1);
  const seq = squeeze(shapeOf(embeds, 1, 2), [0]);
  const total = attentionMask
    ? squeeze(shapeOf(attentionMask, 1, 2), [0])
    : add(squeeze(shapeOf(pastKey, 2, 3), [0]), seq);
  const pastLength = sub(total, seq);
  const keyIndex = unsqueeze(range(zero, total, one), [0]);
  const queryIndex = unsqueeze(range(pastLength, total, one), [1]);
  const causal = lessOrEqual(keyIndex, queryIndex);
  const visible = or(causal, equal(pastLength, zero));
  const visible4d = unsqueeze(visible, [0, 1]);
  const allowed = attentionMask ? and(unsqueeze(cast(attentionMask, 'bool'), [1, 2]), visible4d) : visible4d;
  return { allowed, queryIndex, keyIndex, total, seq, pastLength };
}

/**
 * GroupQueryAttention's inputs from the mask: the additive bias [B, 1, S, total] (0 where attention
 * is allowed) and its own bookkeeping (every row holds `total` positions; padding is masked by the
 * bias). Built only for graphs that use it: ORT runs nodes whose outputs nothing reads.
 */
function gqaMask(g: GraphBuilder, m: MaskValues, embeds: Value) {
  const one = scalar(g, 'int64', 1);
  return {
    bias: where(m.allowed, 0, scalar(g, 'float32', MASKED)),
    seqlensK: expand(cast(sub(m.total, one), 'int32'), shapeOf(embeds, 0, 1)),
    totalLength: cast(m.total, 'int32'),
  };
}

interface CacheSlots {
  /** [B, 1, G·S, capacity + S]: 0 where a query may see the slot, float32's lowest elsewhere. */
  bias: Value;
  /** [capacity, S] as int64: where the score columns of the buffer end and this run's begin. */
  splitSizes: Value;
}

/**
 * The step graph's bias [B, 1, G·S, capacity + S] over the caller's buffer slots then this run's keys:
 * slot j holds absolute position j and is visible where j < total − S and the mask allows it; this
 * run's keys follow the prefix-LM rule of `attentionMaskValues`.
 */
function cacheSlotBias(
  g: GraphBuilder,
  m: MaskValues,
  pastKey: Value,
  embeds: Value,
  groups: number,
): CacheSlots {
  const zero = scalar(g, 'int64', 0);
  const one = scalar(g, 'int64', 1);
  const capacity = squeeze(shapeOf(pastKey, 2, 3), [0]);
  const { seq, total, pastLength } = m;
  const slots = range(zero, capacity, one);
  // Absolute key position of each column (slots past the valid ones read any position: masked below).
  const columns = concat([min(slots, sub(total, one)), range(pastLength, total, one)], 0);
  const filled = concat([less(slots, pastLength), cast(expand(one, unsqueeze(seq, [0])), 'bool')], 0);
  const allowed = and(gather(m.allowed, columns, 3), filled);
  const bias = where(allowed, 0, scalar(g, 'float32', MASKED));
  return {
    // Score rows are ordered (group, query): one copy of the query rows per group.
    bias: concat(
      Array.from({ length: groups }, () => bias),
      2,
    ),
    splitSizes: concat([shapeOf(pastKey, 2, 3), shapeOf(embeds, 1, 2)], 0),
  };
}

/**
 * Attention of this run's queries over the caller's cache buffers and this run's own keys, as MatMuls
 * (q heads grouped by their kv head, so no key is repeated), with Gemma 2's soft-cap.
 * q [B, S, H·D], k/v [B, S, kvH·D] (after RoPE), cache [B, kvH, capacity, D] → [B, S, H·D].
 */
function cachedAttention(
  q: Value,
  k: Value,
  v: Value,
  pastKey: Value,
  pastValue: Value,
  slots: CacheSlots,
  t: PaliGemmaConfig['textConfig'],
): Value {
  const g = q.graph;
  const D = t.headDim;
  const kvH = t.numKeyValueHeads;
  const groups = t.numAttentionHeads / kvH;
  // The soft-cap's 1/cap rides on the query scale: tanh(q·k · scale/cap) · cap.
  const cap = t.attnLogitSoftcapping;
  // [B, S, kvH, G, D] → [B, kvH, G, S, D] → [B, kvH, G·S, D]: query head h uses kv head ⌊h / G⌋.
  const scaled = mul(q, Math.fround(t.queryPreAttnScalar ** -0.5 / (cap || 1)));
  const qh = reshape(transpose(reshape(scaled, [0, 0, kvH, groups, D]), [0, 2, 3, 1, 4]), [0, kvH, -1, D]);
  const kh = transpose(reshape(k, [0, 0, kvH, D]), [0, 2, 1, 3]);
  const vh = transpose(reshape(v, [0, 0, kvH, D]), [0, 2, 1, 3]);
  // Scores [B, kvH, G·S, capacity + S], the bias [B, 1, G·S, capacity + S].
  let scores = concat(
    [matMul(qh, transpose(pastKey, [0, 1, 3, 2])), matMul(qh, transpose(kh, [0, 1, 3, 2]))],
    -1,
  );
  if (cap) scores = mul(tanh(scores), cap);
  const probs = softmax(add(scores, slots.bias), -1);
  const [fromCache, fromRun] = g.addNode({
    opType: 'Split',
    inputs: [probs, slots.splitSizes],
    attrs: { axis: attr.int(-1) },
    outputs: [
      { dtype: 'float32', shape: null },
      { dtype: 'float32', shape: null },
    ],
  }) as [Value, Value];
  const out = add(matMul(fromCache, pastValue), matMul(fromRun, vh)); // [B, kvH, G·S, D]
  // → [B, kvH, G, S, D] → [B, S, kvH, G, D] → [B, S, H·D]
  return reshape(transpose(reshape(out, [0, kvH, groups, -1, D]), [0, 3, 1, 2, 4]), [0, 0, -1]);
}

/** HF 5.x sliding layers: additionally hide keys `window` or more positions before the query. */
function slidingBias(g: GraphBuilder, m: MaskValues, window: number): Value {
  const inWindow = lessOrEqual(sub(m.queryIndex, m.keyIndex), scalar(g, 'int64', window - 1));
  return where(and(m.allowed, unsqueeze(inWindow, [0, 1])), 0, scalar(g, 'float32', MASKED));
}
