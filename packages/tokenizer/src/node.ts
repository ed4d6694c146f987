/**
 * Node helpers (`@pali/tokenizer/node`): read a model folder's files with fs and build the
 * platform-free objects from them. The main entry point never touches the file system.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { GemmaTokenizer } from './gemma-tokenizer.js';
import { PaliGemmaText, type PaliGemmaTextOptions } from './pali-text.js';
import type { TokenizerFiles } from './tokenizer-files.js';

async function readJson(dir: string, name: string, required: boolean): Promise<unknown> {
  const path = join(dir, name);
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (!required && code === 'ENOENT') return undefined;
    throw new PaliError(ERROR_CODES.NOT_FOUND, `Cannot read ${path}`, {
      cause,
      hint: code === 'ENOENT' ? 'Point at a model folder that has this file' : 'Check the file permissions',
      details: { path },
    });
  }
  try {
    return JSON.parse(source) as unknown;
  } catch (cause) {
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${path} is not valid JSON`, {
      cause,
      hint: 'Re-download the model folder',
      details: { path },
    });
  }
}

/** Reads tokenizer.json, tokenizer_config.json and special_tokens_map.json of a folder. */
export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  const [tokenizer, tokenizerConfig, specialTokensMap] = await Promise.all([
    readJson(dir, 'tokenizer.json', true),
    readJson(dir, 'tokenizer_config.json', false),
    readJson(dir, 'special_tokens_map.json', false),
  ]);
  return { tokenizer, tokenizerConfig, specialTokensMap };
}

/** The tokenizer of a model folder. */
export async function loadTokenizerFromDir(dir: string): Promise<GemmaTokenizer> {
  return GemmaTokenizer.fromFiles(await readTokenizerFiles(dir));
}

/** Tokenizer, prompt builder and task prompts of a model folder (also reads config.json, preprocessor_config.json). */
export async function loadPaliGemmaTextFromDir(
  dir: string,
  options?: PaliGemmaTextOptions,
): Promise<PaliGemmaText> {
  const [files, config, preprocessorConfig] = await Promise.all([
    readTokenizerFiles(dir),
    readJson(dir, 'config.json', true),
    readJson(dir, 'preprocessor_config.json', false),
  ]);
  return PaliGemmaText.fromFiles({ ...files, config, preprocessorConfig }, options);
}
