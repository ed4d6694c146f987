import { ERROR_CODES, PaliError } from '@pali/errors';

/**
 * The onnx-community / transformers.js model folder (REFERENCE.md §9): one format that we write and
 * read, so our converted models run in transformers.js and theirs run here.
 */
export const COMPONENTS = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'] as const;
export type Component = (typeof COMPONENTS)[number];

/** File-name suffix of each weight variant (transformers.js's `dtype` option). */
export const DTYPE_SUFFIX = {
  fp32: '',
  fp16: '_fp16',
  q4: '_q4',
  q4f16: '_q4f16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  bnb4: '_bnb4',
} as const;
export type ModelDtype = keyof typeof DTYPE_SUFFIX;
export const MODEL_DTYPES = Object.keys(DTYPE_SUFFIX) as ModelDtype[];

/** The dtype of each component; one dtype for all, or per component. */
export type DtypeChoice = ModelDtype | Partial<Record<Component, ModelDtype>>;

export function isModelDtype(value: string): value is ModelDtype {
  return Object.hasOwn(DTYPE_SUFFIX, value);
}

export function parseModelDtype(value: string): ModelDtype {
  if (!isModelDtype(value)) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `Unknown dtype "${value}"`, {
      hint: `Use one of ${MODEL_DTYPES.join(', ')}`,
    });
  }
  return value;
}

export function componentDtype(
  choice: DtypeChoice,
  component: Component,
  fallback: ModelDtype = 'fp32',
): ModelDtype {
  return typeof choice === 'string' ? choice : (choice[component] ?? fallback);
}

/** Path of a component's .onnx file inside the model folder, e.g. `onnx/decoder_model_merged_q4.onnx`. */
export function onnxPath(component: Component, dtype: ModelDtype): string {
  return `onnx/${component}${DTYPE_SUFFIX[dtype]}.onnx`;
}

/** Path of its external data file (`.onnx_data`, as ORT and transformers.js expect). */
export function externalDataPath(component: Component, dtype: ModelDtype): string {
  return `${onnxPath(component, dtype)}_data`;
}

/**
 * Our int8 prefill graph for a decoder variant (`onnx/decoder_prefill_int8_q4.onnx` for q4): the same
 * decoder with DynamicQuantizeMatMul layers, run once per prompt; it reads the head, norms and RoPE
 * tables from that decoder's data file. transformers.js does not know it and never loads it.
 */
export function prefillPath(decoderDtype: ModelDtype): string {
  return `onnx/decoder_prefill_int8${DTYPE_SUFFIX[decoderDtype]}.onnx`;
}

/**
 * Part `index` of the prefill graph cut into layer ranges (`onnx/decoder_prefill_int8_q4_part03.onnx`):
 * graph only, on the prefill graph's and the decoder's data. Loaders run the parts as short-lived
 * sessions, so that only one part's int8 weights are mapped at a time.
 */
export function prefillPartPath(decoderDtype: ModelDtype, index: number): string {
  return `onnx/decoder_prefill_int8${DTYPE_SUFFIX[decoderDtype]}_part${String(index).padStart(2, '0')}.onnx`;
}

/**
 * Our step graph for a decoder variant (`onnx/decoder_step_q4.onnx` for q4), written beside the
 * decoder: the decoder's weights (it has no data file of its own: every tensor is read from the
 * decoder's), attention as MatMuls over a KV cache that the caller keeps, no present outputs.
 */
export function stepPath(decoderDtype: ModelDtype): string {
  return `onnx/decoder_step${DTYPE_SUFFIX[decoderDtype]}.onnx`;
}

/**
 * The vision tower with int8 (DynamicQuantizeMatMul) linears, written with the prefill graph: it runs
 * once per image, at M = 256-4096 rows, where int8 is ~2× int4 MatMulNBits on CPU.
 */
export const VISION_PREFILL_PATH = 'onnx/vision_encoder_prefill_int8.onnx';

/** The JSON and tokenizer files every model folder has. */
export const FOLDER_FILES = {
  config: 'config.json',
  generationConfig: 'generation_config.json',
  preprocessorConfig: 'preprocessor_config.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
} as const;

/** The small files a loader fetches before the ONNX files (config.json is the only required one). */
export const FOLDER_JSON_FILES: readonly string[] = [
  FOLDER_FILES.config,
  FOLDER_FILES.generationConfig,
  FOLDER_FILES.preprocessorConfig,
  FOLDER_FILES.tokenizer,
  FOLDER_FILES.tokenizerConfig,
  'special_tokens_map.json',
];

/** A Hub repo id (org/name), as opposed to a path. */
export const HUB_REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** Our own key in config.json: what our converter wrote, for loaders that can use it. */
export const PALI_CONFIG_KEY = 'pali';

export interface PaliFolderInfo {
  /** Format version of what follows. */
  version: 1;
  /** Our decoder takes a prefix-LM + padding mask from attention_mask and position_ids. */
  prefixLm?: boolean;
  /** The decoder returns logits for the last position only ([batch, 1, vocab]). */
  lastPositionLogits?: boolean;
  /** Sliding-window attention as HF 5.x does it (off: the training semantics). */
  slidingWindow?: boolean;
  /**
   * ONNX files whose external tensors lie in another file's data (embed_tokens reading the decoder's
   * tied table): file name → data file name, both in onnx/.
   */
  sharedExternalData?: Record<string, string>;
  /**
   * The int8 graphs of the prompt pass: the vision tower, and per decoder variant its prefill graph
   * and that graph cut into parts by layers, in order (see prefillPartPath).
   */
  prefill?: {
    vision?: string;
    decoder?: Partial<Record<ModelDtype, string>>;
    decoderParts?: Partial<Record<ModelDtype, string[]>>;
  };
  /** Per decoder variant, its step graph (see stepPath): same weights, a cache kept by the caller. */
  step?: Partial<Record<ModelDtype, string>>;
  /** Which component variants the folder holds. */
  variants?: Partial<Record<Component, ModelDtype[]>>;
}
