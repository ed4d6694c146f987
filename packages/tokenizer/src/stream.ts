/**
 * Token ids in, text deltas out, with the same final text as one full decode.
 *
 * Text is released only at a token that is neither skipped nor a byte-fallback token: HF's
 * ByteFallback decodes a whole run of `<0xAB>` tokens at once (and turns the WHOLE run into one
 * U+FFFD per byte if any of it is invalid UTF-8), so a run can change until a non-byte token ends
 * it. Gemma's other decoder steps act token by token, so text decoded up to such a boundary is final
 * and never splits a character. A tokenizer whose config asks for clean_up_tokenization_spaces gets
 * its last 4 characters held back until more text (or flush) shows how the cleanup applies.
 */
import type { GemmaTokenizer } from './gemma-tokenizer.js';

export interface StreamOptions {
  /** As in decode(): drop special tokens (`<eos>`, `<pad>`). Default true, as a generation stream wants. */
  skipSpecialTokens?: boolean;
}

/** The longest text transformers' cleanup rewrites (" n't"), minus one: what may still change. */
const CLEANUP_HOLDBACK = 4;

export class StreamingDetokenizer {
  readonly #tokenizer: GemmaTokenizer;
  readonly #skip: boolean;
  /** Kept ids after the last boundary (a byte-fallback run). */
  #pending: number[] = [];
  /** Decoded text up to the last boundary, before any cleanup. */
  #raw = '';
  #emitted = '';

  constructor(tokenizer: GemmaTokenizer, options: StreamOptions = {}) {
    this.#tokenizer = tokenizer;
    this.#skip = options.skipSpecialTokens ?? true;
  }

  /** Adds ids (one or many); returns the text they complete, possibly ''. */
  push(ids: number | bigint | ArrayLike<number | bigint>): string {
    const list = typeof ids === 'number' || typeof ids === 'bigint' ? [ids] : ids;
    let boundary = false;
    for (let i = 0; i < list.length; i++) {
      const id = Number(list[i]);
      if (this.#tokenizer.idToToken(id) === undefined) continue; // decode() drops unknown ids too
      if (this.#skip && this.#tokenizer.isSpecial(id)) continue;
      this.#pending.push(id);
      if (!this.#tokenizer.isByteToken(id)) {
        this.#raw += this.#decodePending();
        boundary = true;
      }
    }
    return boundary ? this.#emit(false) : '';
  }

  /** Ends the stream: returns the rest of the text. Afterwards `text` equals the full decode. */
  flush(): string {
    this.#raw += this.#decodePending();
    return this.#emit(true);
  }

  /** All text returned so far. */
  get text(): string {
    return this.#emitted;
  }

  /** Starts over for a new sequence. */
  reset(): void {
    this.#pending = [];
    this.#raw = '';
    this.#emitted = '';
  }

  #decodePending(): string {
    if (this.#pending.length === 0) return '';
    const text = this.#tokenizer.decode(this.#pending, {
      skipSpecialTokens: false,
      cleanUpTokenizationSpaces: false,
    });
    this.#pending = [];
    return text;
  }

  #emit(final: boolean): string {
    let target = this.#raw;
    if (this.#tokenizer.cleansUpTokenizationSpaces) {
      target = this.#tokenizer.cleanUp(target);
      if (!final) {
        let cut = Math.max(0, target.length - CLEANUP_HOLDBACK);
        if (cut > 0 && isLowSurrogate(target.charCodeAt(cut))) cut--;
        target = target.slice(0, cut);
      }
    }
    if (!target.startsWith(this.#emitted) || target.length === this.#emitted.length) return '';
    const delta = target.slice(this.#emitted.length);
    this.#emitted = target;
    return delta;
  }
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
