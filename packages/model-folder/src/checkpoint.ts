import { ERROR_CODES, PaliError } from '@pali/errors';
import type { TensorReader } from '@pali/onnx';
import type { PaliGemmaConfig } from './config.js';

/**
 * Where graph builders get checkpoint tensors: by canonical name (the Hub's original PaliGemma names,
 * e.g. `vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight`), as float32, read only when
 * asked, so that one tensor at a time is in memory.
 */
export interface WeightProvider {
  /** The tensor's shape; throws a typed NOT_FOUND error naming the tensor when it is missing. */
  shape(name: string): readonly number[];
  /** The tensor's values as float32 (bf16 and f16 widened exactly). */
  read(name: string): Promise<Float32Array>;
  /** Every canonical name the checkpoint holds. */
  names(): string[];
}

/**
 * Newer transformers save `model.vision_tower…`, `model.multi_modal_projector…`,
 * `model.language_model…` and an explicit (tied) `lm_head.weight` (REFERENCE.md §8). Both map to
 * the original names; the tied head is dropped.
 */
const RENAMES: readonly [string, string][] = [
  ['model.vision_tower.', 'vision_tower.'],
  ['model.multi_modal_projector.', 'multi_modal_projector.'],
  ['model.language_model.', 'language_model.model.'],
];
const TIED_HEADS = new Set(['lm_head.weight', 'language_model.lm_head.weight']);

export function canonicalTensorName(name: string): string | undefined {
  if (TIED_HEADS.has(name)) return undefined;
  for (const [from, to] of RENAMES) if (name.startsWith(from)) return to + name.slice(from.length);
  return name;
}

/** A WeightProvider over a safetensors checkpoint (single file or sharded) in either naming. */
export function checkpointWeights(reader: TensorReader, where = 'the checkpoint'): WeightProvider {
  const byCanonical = new Map<string, string>();
  for (const stored of reader.names()) {
    const canonical = canonicalTensorName(stored);
    if (canonical === undefined) continue;
    const previous = byCanonical.get(canonical);
    if (previous !== undefined) {
      throw new PaliError(
        ERROR_CODES.CORRUPT_FILE,
        `${where} holds ${canonical} twice (as ${previous} and ${stored})`,
        { details: { tensor: canonical } },
      );
    }
    byCanonical.set(canonical, stored);
  }
  const stored = (name: string): string => {
    const s = byCanonical.get(name);
    if (s === undefined) {
      throw new PaliError(ERROR_CODES.NOT_FOUND, `${where} has no tensor ${name}`, {
        hint: 'The checkpoint is incomplete or is not a PaliGemma 2 checkpoint for this config.json',
        details: { tensor: name },
      });
    }
    return s;
  };
  return {
    shape: (name) => reader.info(stored(name)).shape,
    read: (name) => reader.readFloat32(stored(name)),
    names: () => [...byCanonical.keys()],
  };
}

/**
 * Every tensor a PaliGemma 2 checkpoint holds for this config, by canonical name, with its shape
 * (REFERENCE.md §8; Linear weights are [out, in]).
 */
export function expectedCheckpointTensors(config: PaliGemmaConfig): Map<string, number[]> {
  const v = config.visionConfig;
  const t = config.textConfig;
  const m = new Map<string, number[]>();
  const vp = 'vision_tower.vision_model.';
  const patches = (v.imageSize / v.patchSize) ** 2;
  m.set(`${vp}embeddings.patch_embedding.weight`, [v.hiddenSize, v.numChannels, v.patchSize, v.patchSize]);
  m.set(`${vp}embeddings.patch_embedding.bias`, [v.hiddenSize]);
  m.set(`${vp}embeddings.position_embedding.weight`, [patches, v.hiddenSize]);
  for (let i = 0; i < v.numHiddenLayers; i++) {
    const p = `${vp}encoder.layers.${i}.`;
    for (const n of ['layer_norm1', 'layer_norm2']) {
      m.set(`${p}${n}.weight`, [v.hiddenSize]);
      m.set(`${p}${n}.bias`, [v.hiddenSize]);
    }
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      m.set(`${p}self_attn.${n}.weight`, [v.hiddenSize, v.hiddenSize]);
      m.set(`${p}self_attn.${n}.bias`, [v.hiddenSize]);
    }
    m.set(`${p}mlp.fc1.weight`, [v.intermediateSize, v.hiddenSize]);
    m.set(`${p}mlp.fc1.bias`, [v.intermediateSize]);
    m.set(`${p}mlp.fc2.weight`, [v.hiddenSize, v.intermediateSize]);
    m.set(`${p}mlp.fc2.bias`, [v.hiddenSize]);
  }
  m.set(`${vp}post_layernorm.weight`, [v.hiddenSize]);
  m.set(`${vp}post_layernorm.bias`, [v.hiddenSize]);
  m.set('multi_modal_projector.linear.weight', [config.projectionDim, v.hiddenSize]);
  m.set('multi_modal_projector.linear.bias', [config.projectionDim]);
  const tp = 'language_model.model.';
  const H = t.hiddenSize;
  m.set(`${tp}embed_tokens.weight`, [t.vocabSize, H]);
  for (let i = 0; i < t.numHiddenLayers; i++) {
    const p = `${tp}layers.${i}.`;
    m.set(`${p}self_attn.q_proj.weight`, [t.numAttentionHeads * t.headDim, H]);
    m.set(`${p}self_attn.k_proj.weight`, [t.numKeyValueHeads * t.headDim, H]);
    m.set(`${p}self_attn.v_proj.weight`, [t.numKeyValueHeads * t.headDim, H]);
    m.set(`${p}self_attn.o_proj.weight`, [H, t.numAttentionHeads * t.headDim]);
    m.set(`${p}mlp.gate_proj.weight`, [t.intermediateSize, H]);
    m.set(`${p}mlp.up_proj.weight`, [t.intermediateSize, H]);
    m.set(`${p}mlp.down_proj.weight`, [H, t.intermediateSize]);
    for (const n of [
      'input_layernorm',
      'post_attention_layernorm',
      'pre_feedforward_layernorm',
      'post_feedforward_layernorm',
    ]) {
      m.set(`${p}${n}.weight`, [H]);
    }
  }
  m.set(`${tp}norm.weight`, [H]);
  return m;
}

/**
 * Checks a checkpoint against config.json before anything is written: a missing tensor, an
 * unexpected one, or a wrong shape is a typed error that names the tensor.
 */
export function validateCheckpoint(
  config: PaliGemmaConfig,
  weights: WeightProvider,
  where = 'the checkpoint',
): void {
  const expected = expectedCheckpointTensors(config);
  const present = new Set(weights.names());
  const missing = [...expected.keys()].filter((n) => !present.has(n));
  if (missing.length > 0) {
    throw new PaliError(
      ERROR_CODES.NOT_FOUND,
      `${where} lacks ${missing.length} tensor(s) that config.json needs: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
      {
        hint: 'The download may be incomplete (check every shard), or config.json belongs to another model',
        details: { missing },
      },
    );
  }
  const extra = [...present].filter((n) => !expected.has(n));
  if (extra.length > 0) {
    throw new PaliError(
      ERROR_CODES.CORRUPT_FILE,
      `${where} holds ${extra.length} tensor(s) that a PaliGemma 2 checkpoint with this config.json has not: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`,
      { hint: 'Check that config.json matches the weights (layer counts, model type)', details: { extra } },
    );
  }
  for (const [name, shape] of expected) {
    const actual = weights.shape(name);
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      throw new PaliError(
        ERROR_CODES.SHAPE_MISMATCH,
        `${where}: ${name} has shape [${actual.join(', ')}], config.json implies [${shape.join(', ')}]`,
        { hint: 'config.json and the weights disagree', details: { tensor: name } },
      );
    }
  }
}
