/**
 * What the prompt builder needs to know about a model: how many `<image>` tokens one image takes
 * and how long the context is, read from config.json and preprocessor_config.json.
 */
import { ERROR_CODES, PaliError } from '@pali/errors';
import { asRecord } from './tokenizer-files.js';

export interface ModelTextInfo {
  /** `<image>` tokens per image (N = (S/14)²). */
  imageSeqLength: number;
  /** The decoder's context: prompt plus generated tokens must fit (text_config.max_position_embeddings). */
  maxPositionEmbeddings: number;
  /** The `<image>` token id the model expects, if config.json names it (image_token_index). */
  imageTokenId?: number;
  /** Ids that end generation per config.json (text_config.eos_token_id, else eos_token_id), if given. */
  eosTokenIds?: number[];
}

/** Gemma2Config's default, which transformers uses when text_config leaves it out. */
const GEMMA2_DEFAULT_CONTEXT = 8192;

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * Reads image_seq_length (preprocessor_config.json, else config.json's num_image_tokens, else
 * (image_size / patch_size)²) and the context length from parsed config files.
 */
export function modelTextInfo(config: unknown, preprocessorConfig?: unknown): ModelTextInfo {
  const cfg = asRecord(config);
  const text = asRecord(cfg.text_config);
  const vision = asRecord(cfg.vision_config);
  const pre = asRecord(preprocessorConfig);
  const fromSize = () => {
    const size = positiveInt(vision.image_size);
    const patch = positiveInt(vision.patch_size);
    return size && patch && size % patch === 0 ? (size / patch) ** 2 : undefined;
  };
  const imageSeqLength =
    positiveInt(pre.image_seq_length) ??
    positiveInt(text.num_image_tokens) ??
    positiveInt(vision.num_image_tokens) ??
    fromSize();
  if (imageSeqLength === undefined) {
    throw new PaliError(
      ERROR_CODES.CORRUPT_FILE,
      'The model folder does not say how many tokens an image takes',
      {
        hint: 'preprocessor_config.json needs image_seq_length (or config.json vision_config image_size and patch_size)',
      },
    );
  }
  const maxPositionEmbeddings =
    positiveInt(text.max_position_embeddings) ??
    positiveInt(cfg.max_position_embeddings) ??
    GEMMA2_DEFAULT_CONTEXT;
  const imageTokenId =
    typeof cfg.image_token_index === 'number'
      ? cfg.image_token_index
      : typeof cfg.image_token_id === 'number'
        ? cfg.image_token_id
        : undefined;
  const info: ModelTextInfo = { imageSeqLength, maxPositionEmbeddings };
  if (imageTokenId !== undefined) info.imageTokenId = imageTokenId;
  const eos = idList(text.eos_token_id) ?? idList(cfg.eos_token_id);
  if (eos !== undefined) info.eosTokenIds = eos;
  return info;
}

function idList(value: unknown): number[] | undefined {
  const list = typeof value === 'number' ? [value] : Array.isArray(value) ? value : undefined;
  if (!list || list.length === 0 || !list.every((v) => Number.isInteger(v) && v >= 0)) return undefined;
  return list as number[];
}
