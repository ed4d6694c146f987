/**
 * PaliGemma's prompt layout (HF PaliGemmaProcessor): `"<image>"×N + "<bos>" + prompt + "\n"`, with
 * token_type_ids 0 over that prefix (it is attended bidirectionally) and, for scoring or training,
 * `suffix + "<eos>"` with token_type_ids 1. Batches are padded on the left for generation.
 */
import { ERROR_CODES, PaliError } from '@pali/errors';
import type { GemmaTokenizer } from './gemma-tokenizer.js';
import type { ModelTextInfo } from './model-info.js';

export interface PromptInput {
  /** The task prompt, e.g. "caption en" (without `<image>`, `<bos>` or the final newline). */
  prompt: string;
  /** An answer to score: appended as `suffix + "<eos>"` with token_type_ids 1. */
  suffix?: string;
  /** Images in this prompt (each adds imageSeqLength `<image>` tokens). Default 1. */
  images?: number;
}

export interface PromptOptions {
  /** Tokens to keep free for generation: the prompt plus this must fit the context. Default 0. */
  reserve?: number;
}

export interface EncodedPrompt {
  /** The string that was tokenized. */
  text: string;
  inputIds: number[];
  attentionMask: number[];
  /** 0 for the prefix (image, bos, prompt, newline), 1 for the suffix. */
  tokenTypeIds: number[];
}

export interface EncodedBatch {
  /** Rows of equal length, padded on `padding` with the tokenizer's pad id. */
  inputIds: number[][];
  attentionMask: number[][];
  tokenTypeIds: number[][];
  /** The common row length. */
  length: number;
}

export interface BatchOptions extends PromptOptions {
  /** Where pads go: 'left' (default; what generation needs) or 'right'. */
  padding?: 'left' | 'right';
}

export class PromptBuilder {
  readonly tokenizer: GemmaTokenizer;
  readonly info: ModelTextInfo;
  readonly imageToken: string;
  readonly imageTokenId: number;

  constructor(tokenizer: GemmaTokenizer, info: ModelTextInfo) {
    this.tokenizer = tokenizer;
    this.info = info;
    if (!tokenizer.imageToken) {
      throw new PaliError(ERROR_CODES.CORRUPT_FILE, 'The tokenizer has no <image> token', {
        hint: 'Use the tokenizer of a PaliGemma model folder (its tokenizer.json adds <image>)',
      });
    }
    this.imageToken = tokenizer.imageToken.content;
    this.imageTokenId = tokenizer.imageToken.id;
    if (info.imageTokenId !== undefined && info.imageTokenId !== this.imageTokenId) {
      throw new PaliError(
        ERROR_CODES.SHAPE_MISMATCH,
        `config.json says the image token is id ${info.imageTokenId}, the tokenizer says ${this.imageTokenId}`,
        { hint: 'The model folder mixes files of different models; re-download or re-convert it' },
      );
    }
  }

  /** The string HF's processor tokenizes for `prompt` (suffix excluded). */
  promptText(prompt: string, images = 1): string {
    checkText(prompt, 'prompt');
    if (!Number.isInteger(images) || images < 0) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `images must be a whole number ≥ 0, got ${images}`, {
        hint: 'Pass the number of images in this prompt',
      });
    }
    if (prompt.includes(this.imageToken)) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `The prompt contains ${this.imageToken}`, {
        hint: `Leave it out: the prompt builder adds ${this.info.imageSeqLength} image tokens per image itself`,
      });
    }
    return `${this.imageToken.repeat(this.info.imageSeqLength * images)}${this.tokenizer.bos.content}${prompt}\n`;
  }

  /** ids, attention_mask and token_type_ids of one prompt, as HF PaliGemmaProcessor returns them. */
  encode(input: string | PromptInput, options: PromptOptions = {}): EncodedPrompt {
    const { prompt, suffix, images = 1 } = typeof input === 'string' ? { prompt: input } : input;
    const text = this.promptText(prompt, images);
    const inputIds = this.tokenizer.encode(text, { addSpecialTokens: false });
    const tokenTypeIds = new Array<number>(inputIds.length).fill(0);
    if (suffix !== undefined) {
      checkText(suffix, 'suffix');
      const suffixIds = this.tokenizer.encode(suffix + this.tokenizer.eos.content, {
        addSpecialTokens: false,
      });
      inputIds.push(...suffixIds);
      for (let i = 0; i < suffixIds.length; i++) tokenTypeIds.push(1);
    }
    this.#checkLength(inputIds.length, options.reserve ?? 0, images);
    return { text, inputIds, attentionMask: new Array<number>(inputIds.length).fill(1), tokenTypeIds };
  }

  /** A padded batch (left by default), pads with attention_mask 0 and token_type_ids 0, as HF pads. */
  encodeBatch(inputs: ReadonlyArray<string | PromptInput>, options: BatchOptions = {}): EncodedBatch {
    if (inputs.length === 0) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'The batch is empty', {
        hint: 'Pass at least one prompt',
      });
    }
    const rows = inputs.map((input) => this.encode(input, options));
    const length = Math.max(...rows.map((r) => r.inputIds.length));
    const left = (options.padding ?? 'left') === 'left';
    const pad = (row: number[], value: number) => {
      const fill = new Array<number>(length - row.length).fill(value);
      return left ? [...fill, ...row] : [...row, ...fill];
    };
    return {
      inputIds: rows.map((r) => pad(r.inputIds, this.tokenizer.pad.id)),
      attentionMask: rows.map((r) => pad(r.attentionMask, 0)),
      tokenTypeIds: rows.map((r) => pad(r.tokenTypeIds, 0)),
      length,
    };
  }

  #checkLength(length: number, reserve: number, images: number): void {
    if (!Number.isInteger(reserve) || reserve < 0) {
      throw new PaliError(
        ERROR_CODES.INVALID_ARGUMENT,
        `reserve must be a whole number ≥ 0, got ${reserve}`,
        {
          hint: 'Pass the number of tokens to generate',
        },
      );
    }
    const context = this.info.maxPositionEmbeddings;
    if (length + reserve <= context) return;
    const imageTokens = this.info.imageSeqLength * images;
    const textRoom = context - imageTokens - reserve - 2; // bos and the final newline
    throw new PaliError(
      ERROR_CODES.PROMPT_TOO_LONG,
      `The prompt takes ${length} tokens (${imageTokens} for the image${images === 1 ? '' : 's'})` +
        `${reserve > 0 ? ` plus ${reserve} to generate` : ''}, more than the model's context of ${context}`,
      {
        hint:
          textRoom > 0
            ? `Shorten the prompt to about ${textRoom} text tokens or generate fewer tokens`
            : 'Use fewer images, a lower resolution model, or fewer new tokens',
        details: { tokens: length, reserve, context, imageTokens },
      },
    );
  }
}

function checkText(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `The ${what} must be a string, got ${typeof value}`, {
      hint: `Pass the ${what} as text`,
    });
  }
}
