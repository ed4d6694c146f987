import { ERROR_CODES, PaliError } from '@pali/errors';
import type { TensorReader } from '@pali/onnx';

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
