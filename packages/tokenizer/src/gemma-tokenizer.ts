/**
 * The Gemma tokenizer: encoding through @huggingface/tokenizers (checked against HF `tokenizers` on
 * the golden strings), decoding through our exact port of the Rust decoder chain.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { byteOfToken, cleanUpTokenization, compileDecoder } from './decode.js';
import { asRecord, checkTokenizerJson, specialTokenContent, type TokenizerFiles } from './tokenizer-files.js';

/** transformers' PaliGemmaProcessor IMAGE_TOKEN, used when the tokenizer config names none. */
const DEFAULT_IMAGE_TOKEN = '<image>';

export interface EncodeOptions {
  /** Add the tokens of tokenizer.json's post-processor (Gemma: a leading `<bos>`). Default true, as in HF. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop added tokens marked special (`<bos>`, `<eos>`, `<pad>`, `<image>`); `<loc>`/`<seg>` stay. */
  skipSpecialTokens?: boolean;
  /**
   * transformers' clean_up_tokenization; default from tokenizer_config.json (false for Gemma). Like
   * transformers 5.18 it is ignored for BPE models (Gemma) unless tokenizer_config.json sets
   * clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output.
   */
  cleanUpTokenizationSpaces?: boolean;
}

export interface SpecialToken {
  content: string;
  id: number;
}

export interface Encoded {
  ids: number[];
  tokens: string[];
}

interface BpeNode {
  token: string;
  bias: number;
  score?: number;
  next: BpeNode | null;
}

interface BpeModelInternals {
  merges?: unknown;
  bpe_ranks?: unknown;
  add_node?: unknown;
}

/**
 * @huggingface/tokenizers 0.2.0 looks every candidate pair up as `JSON.stringify([a, b])`, which
 * allocates a string per lookup and takes most of the encoding time; a two-level Map gives the same
 * ranks without it. Applied only where the (pinned) library has exactly the shape we expect; the
 * golden tests compare every id to HF's.
 */
function speedUpMergeLookup(lib: Tokenizer): void {
  const model = lib.model as unknown as BpeModelInternals | null;
  if (!model || !Array.isArray(model.merges) || !(model.bpe_ranks instanceof Map)) return;
  if (typeof model.add_node !== 'function') return;
  const ranks = new Map<string, Map<string, number>>();
  (model.merges as unknown[]).forEach((pair, rank) => {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return;
    let inner = ranks.get(pair[0]);
    if (!inner) {
      inner = new Map();
      ranks.set(pair[0], inner);
    }
    // The library's Map keeps the last rank of a duplicated pair; so does this.
    inner.set(pair[1], rank);
  });
  model.add_node = (queue: { push(node: BpeNode): void }, node: BpeNode) => {
    const rank = ranks.get(node.token)?.get(node.next!.token);
    if (rank !== undefined) {
      node.score = rank + node.bias;
      queue.push(node);
    }
  };
}

export class GemmaTokenizer {
  readonly bos: SpecialToken;
  readonly eos: SpecialToken;
  readonly pad: SpecialToken;
  readonly unk: SpecialToken | undefined;
  /** PaliGemma's image placeholder: tokenizer_config.json `image_token`, else `<image>` (HF's default). */
  readonly imageToken: SpecialToken | undefined;
  /** Number of ids (vocabulary and added tokens). */
  readonly vocabSize: number;
  readonly #lib: Tokenizer;
  readonly #idToToken: string[];
  readonly #special: Uint8Array;
  readonly #byteToken: Uint8Array;
  readonly #decodeTokens: (tokens: string[]) => string;
  readonly #cleanUp: boolean;
  /** False where transformers refuses to clean up (BPE models without the override flag). */
  readonly #cleanUpAllowed: boolean;

  private constructor(files: TokenizerFiles) {
    const json = checkTokenizerJson(files.tokenizer);
    try {
      // The library reads a few odd keys from its config (remove_space, lowercasing) that
      // transformers ignores for Gemma; give it none so encoding follows tokenizer.json alone.
      this.#lib = new Tokenizer(json, {});
    } catch (cause) {
      throw new PaliError(ERROR_CODES.CORRUPT_FILE, 'tokenizer.json could not be loaded', {
        cause,
        hint: `Check that it is an HF tokenizers file (${cause instanceof Error ? cause.message : String(cause)})`,
      });
    }
    speedUpMergeLookup(this.#lib);
    this.#decodeTokens = compileDecoder(json.decoder);
    const vocab = this.#lib.get_vocab(true);
    let size = 0;
    for (const id of vocab.values()) size = Math.max(size, id + 1);
    this.vocabSize = size;
    this.#idToToken = new Array<string>(size);
    this.#byteToken = new Uint8Array(size);
    for (const [token, id] of vocab) {
      this.#idToToken[id] = token;
      if (byteOfToken(token) >= 0) this.#byteToken[id] = 1;
    }
    this.#special = new Uint8Array(size);
    for (const token of json.added_tokens) if (token.special) this.#special[token.id] = 1;

    const config = asRecord(files.tokenizerConfig);
    this.#cleanUpAllowed =
      json.model.type !== 'BPE' ||
      config.clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output === true;
    this.#cleanUp = config.clean_up_tokenization_spaces === true && this.#cleanUpAllowed;
    this.bos = this.#requireSpecial(files, 'bos_token');
    this.eos = this.#requireSpecial(files, 'eos_token');
    this.pad = this.#requireSpecial(files, 'pad_token');
    const unk = specialTokenContent(files, 'unk_token') ?? asRecord(json.model).unk_token;
    this.unk = typeof unk === 'string' ? this.#lookup(unk) : undefined;
    const image = specialTokenContent(files, 'image_token') ?? DEFAULT_IMAGE_TOKEN;
    this.imageToken = this.#lookup(image);
  }

  /** Builds a tokenizer from the parsed files of a model folder. */
  static fromFiles(files: TokenizerFiles): GemmaTokenizer {
    return new GemmaTokenizer(files);
  }

  #lookup(content: string): SpecialToken | undefined {
    const id = this.#lib.token_to_id(content);
    return id === undefined ? undefined : { content, id };
  }

  #requireSpecial(files: TokenizerFiles, key: string): SpecialToken {
    const content = specialTokenContent(files, key);
    if (content === undefined) {
      throw new PaliError(ERROR_CODES.CORRUPT_FILE, `The tokenizer files name no ${key}`, {
        hint: 'tokenizer_config.json (or special_tokens_map.json) must set it, as HF tokenizers save it',
      });
    }
    const token = this.#lookup(content);
    if (!token) {
      throw new PaliError(ERROR_CODES.CORRUPT_FILE, `The ${key} "${content}" is not in tokenizer.json`, {
        hint: 'The tokenizer files disagree; re-download or re-export the model folder',
      });
    }
    return token;
  }

  /** Token ids of `text`, as HF `tokenizer(text).input_ids`. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.tokenize(text, options).ids;
  }

  /** Token ids and their token strings. */
  tokenize(text: string, options: EncodeOptions = {}): Encoded {
    if (typeof text !== 'string') {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `Cannot tokenize a ${typeof text}`, {
        hint: 'Pass a string',
      });
    }
    // tokenizer.json's post-processor decides, as in transformers 5.18, which ignores
    // tokenizer_config.json's add_bos_token/add_eos_token when loading a saved tokenizer.json.
    const { ids, tokens } = this.#lib.encode(text, { add_special_tokens: options.addSpecialTokens ?? true });
    return { ids, tokens };
  }

  /** Text of `ids`, as HF `tokenizer.decode(ids, skip_special_tokens=...)`. Unknown ids are dropped, as in Rust. */
  decode(ids: ArrayLike<number | bigint>, options: DecodeOptions = {}): string {
    const text = this.#decodeTokens(this.tokensOf(ids, options.skipSpecialTokens ?? false));
    const cleanUp = (options.cleanUpTokenizationSpaces ?? this.#cleanUp) && this.#cleanUpAllowed;
    return cleanUp ? cleanUpTokenization(text) : text;
  }

  /** The token strings the decoder sees for `ids` (unknown ids and, if asked, special tokens dropped). */
  tokensOf(ids: ArrayLike<number | bigint>, skipSpecialTokens: boolean): string[] {
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = Number(ids[i]);
      const token = this.#idToToken[id];
      if (token === undefined) continue;
      if (skipSpecialTokens && this.#special[id] === 1) continue;
      tokens.push(token);
    }
    return tokens;
  }

  /** Runs the decoder chain on token strings. */
  decodeTokens(tokens: string[]): string {
    return this.#decodeTokens(tokens);
  }

  /** Whether decode() applies transformers' clean_up_tokenization by default (tokenizer_config.json). */
  get cleansUpTokenizationSpaces(): boolean {
    return this.#cleanUp;
  }

  /** transformers' clean_up_tokenization. */
  cleanUp(text: string): string {
    return cleanUpTokenization(text);
  }

  tokenToId(token: string): number | undefined {
    return this.#lib.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.#idToToken[id];
  }

  /** True for an added token marked special (skipped by skipSpecialTokens). */
  isSpecial(id: number): boolean {
    return this.#special[id] === 1;
  }

  /** True for a byte-fallback token `<0xAB>`. */
  isByteToken(id: number): boolean {
    return this.#byteToken[id] === 1;
  }
}
