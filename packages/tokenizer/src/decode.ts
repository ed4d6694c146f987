/**
 * The decoder chain of an HF tokenizer.json, run exactly as the Rust `tokenizers` crate runs it.
 * @huggingface/tokenizers decodes byte-fallback runs with a TextDecoder, which replaces an invalid
 * UTF-8 run by one U+FFFD per maximal subpart; Rust replaces the WHOLE run by one U+FFFD per byte.
 * Gemma's chain (Replace ▁→' ', ByteFallback, Fuse) is interpreted here; other steps are refused at
 * load time so that a silent mismatch cannot happen.
 */
import { ERROR_CODES, PaliError } from '@pali/errors';

type Step = (tokens: string[]) => string[];

interface DecoderJson {
  type?: unknown;
  decoders?: unknown;
  pattern?: unknown;
  content?: unknown;
  start?: unknown;
  stop?: unknown;
}

const REPLACEMENT = '\uFFFD';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The byte of a `<0xAB>` token, or -1. */
export function byteOfToken(token: string): number {
  if (token.length !== 6 || !token.startsWith('<0x') || token[5] !== '>') return -1;
  const hex = token.slice(3, 5);
  if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return -1;
  return Number.parseInt(hex, 16);
}

function flushBytes(bytes: number[], out: string[]): void {
  if (bytes.length === 0) return;
  try {
    out.push(utf8.decode(Uint8Array.from(bytes)));
  } catch {
    for (let i = 0; i < bytes.length; i++) out.push(REPLACEMENT);
  }
  bytes.length = 0;
}

function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  const bytes: number[] = [];
  for (const token of tokens) {
    const byte = byteOfToken(token);
    if (byte >= 0) {
      bytes.push(byte);
      continue;
    }
    flushBytes(bytes, out);
    out.push(token);
  }
  flushBytes(bytes, out);
  return out;
}

function replaceStep(config: DecoderJson): Step {
  const pattern = config.pattern as { String?: unknown; Regex?: unknown } | undefined;
  const content = typeof config.content === 'string' ? config.content : '';
  if (pattern && typeof pattern.String === 'string') {
    const from = pattern.String;
    return (tokens) => tokens.map((t) => t.replaceAll(from, content));
  }
  if (pattern && typeof pattern.Regex === 'string') {
    const regex = new RegExp(pattern.Regex, 'gu');
    return (tokens) => tokens.map((t) => t.replace(regex, content));
  }
  throw unsupported('Replace decoder without a String or Regex pattern');
}

/** Rust's Strip: removes up to `start`/`stop` copies of `content` from each token's ends. */
function stripStep(config: DecoderJson): Step {
  const content = typeof config.content === 'string' ? config.content : ' ';
  const start = typeof config.start === 'number' ? config.start : 0;
  const stop = typeof config.stop === 'number' ? config.stop : 0;
  return (tokens) =>
    tokens.map((token) => {
      const chars = Array.from(token);
      let a = 0;
      while (a < start && chars[a] === content) a++;
      let b = chars.length;
      while (chars.length - b < stop && b > a && chars[b - 1] === content) b--;
      return chars.slice(a, b).join('');
    });
}

function unsupported(what: string): PaliError {
  return new PaliError(
    ERROR_CODES.UNSUPPORTED,
    `tokenizer.json uses a ${what}, which @pali/tokenizer does not decode`,
    {
      hint: 'Use a Gemma tokenizer.json (Replace, ByteFallback, Fuse, Strip decoders)',
    },
  );
}

function compileStep(config: DecoderJson): Step {
  switch (config.type) {
    case 'Sequence': {
      if (!Array.isArray(config.decoders)) throw unsupported('Sequence decoder without a list');
      const steps = (config.decoders as DecoderJson[]).map(compileStep);
      return (tokens) => steps.reduce((acc, step) => step(acc), tokens);
    }
    case 'Replace':
      return replaceStep(config);
    case 'ByteFallback':
      return byteFallback;
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Strip':
      return stripStep(config);
    default:
      throw unsupported(`decoder of type ${String(config.type)}`);
  }
}

/** Compiles a tokenizer.json `decoder` into a function from token strings to text. */
export function compileDecoder(config: unknown): (tokens: string[]) => string {
  // No decoder: Rust joins the tokens with spaces.
  if (config === null || config === undefined) return (tokens) => tokens.join(' ');
  const step = compileStep(config as DecoderJson);
  return (tokens) => step(tokens).join('');
}

/** transformers' `clean_up_tokenization`: removes spaces before punctuation and contractions. */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
