/**
 * The parts of a model folder's tokenizer files that we read, and how special tokens are named in
 * them. Everything here takes already-parsed JSON so that it runs on any platform.
 */
import { ERROR_CODES, PaliError } from '@pali/errors';

/** The parsed contents of a model folder's tokenizer files. */
export interface TokenizerFiles {
  /** tokenizer.json */
  tokenizer: unknown;
  /** tokenizer_config.json (optional: it names bos/eos/pad and cleanup behaviour) */
  tokenizerConfig?: unknown;
  /** special_tokens_map.json (optional: consulted where tokenizer_config.json is silent) */
  specialTokensMap?: unknown;
}

export interface AddedTokenJson {
  id: number;
  content: string;
  special: boolean;
}

export interface TokenizerJson {
  model: { type?: string; vocab?: unknown; unk_token?: unknown };
  added_tokens: AddedTokenJson[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asRecord(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

/** Validates the shape of tokenizer.json enough that later steps cannot crash on it. */
export function checkTokenizerJson(value: unknown): TokenizerJson {
  const bad = (what: string) =>
    new PaliError(ERROR_CODES.CORRUPT_FILE, `tokenizer.json ${what}`, {
      hint: 'Re-download the model folder, or export the tokenizer with HF tokenizers (tokenizer.save)',
    });
  if (!isRecord(value)) throw bad('is not a JSON object');
  if (!isRecord(value.model)) throw bad('has no "model" object');
  const added = value.added_tokens ?? [];
  if (!Array.isArray(added)) throw bad('has an "added_tokens" that is not a list');
  for (const token of added) {
    if (!isRecord(token) || typeof token.id !== 'number' || typeof token.content !== 'string') {
      throw bad('has an added token without a numeric id and a string content');
    }
  }
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
    if (!(key in value)) value[key] = null;
  }
  value.added_tokens = added;
  return value as unknown as TokenizerJson;
}

/** A special token's content from tokenizer_config.json (string or {content}) or special_tokens_map.json. */
export function specialTokenContent(files: TokenizerFiles, key: string): string | undefined {
  for (const source of [files.tokenizerConfig, files.specialTokensMap]) {
    const entry = asRecord(source)[key];
    if (typeof entry === 'string') return entry;
    if (isRecord(entry) && typeof entry.content === 'string') return entry.content;
  }
  return undefined;
}
