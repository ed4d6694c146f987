/**
 * A small onnx-community-like repo for tests: two JSON files stored in git and two "LFS" model
 * files, with deterministic pseudo-random contents so runs are reproducible.
 */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    // xorshift32: cheap and deterministic
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const TINY_MODEL_FILES = {
  'config.json':
    '{"model_type": "paligemma", "transformers.js_config": {"use_external_data_format": true}}\n',
  'tokenizer.json': '{"version": "1.0", "model": {"type": "BPE"}}\n',
  'onnx/decoder_model_merged_q4.onnx': pseudoRandomBytes(120_000, 1),
  'onnx/decoder_model_merged_q4.onnx_data': pseudoRandomBytes(300_000, 2),
} as const;

export const TINY_MODEL_PATHS = Object.keys(TINY_MODEL_FILES) as (keyof typeof TINY_MODEL_FILES)[];
