import { describe, expect, it } from 'vitest';
import {
  type DecodeCase,
  type ExtraCases,
  readJson,
  TOKENIZER_DIR,
  type TokenizerCase,
} from '../test/fixtures.js';
import { GemmaTokenizer } from './gemma-tokenizer.js';
import { loadTokenizerFromDir, readTokenizerFiles } from './node.js';

const tokenizer = await loadTokenizerFromDir(TOKENIZER_DIR);
const golden = readJson<{ cases: TokenizerCase[] }>('golden/tokenizer-cases.json').cases;
const extra = readJson<ExtraCases>('tokenizer-extra/cases.json');

function expectLikeHf(c: TokenizerCase): void {
  const plain = tokenizer.tokenize(c.text, { addSpecialTokens: false });
  expect(plain.ids, JSON.stringify(c.text)).toEqual(c.ids);
  expect(plain.tokens, JSON.stringify(c.text)).toEqual(c.tokens);
  expect(tokenizer.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids_with_special);
  expect(tokenizer.decode(c.ids_with_special)).toBe(c.decode);
  expect(tokenizer.decode(c.ids_with_special, { skipSpecialTokens: true })).toBe(c.decode_skip_special);
}

function expectDecodeLikeHf(c: DecodeCase): void {
  expect(tokenizer.decode(c.ids), JSON.stringify(c.ids)).toBe(c.decode);
  expect(tokenizer.decode(c.ids, { skipSpecialTokens: true }), JSON.stringify(c.ids)).toBe(
    c.decode_skip_special,
  );
}

describe('GemmaTokenizer against HF tokenizers (Rust) on the fixture tokenizer', () => {
  it(`encodes and decodes every golden string of fixtures/golden/tokenizer-cases.json (${golden.length})`, () => {
    expect(golden.length).toBeGreaterThan(40);
    golden.forEach(expectLikeHf);
  });

  it(`encodes and decodes ${extra.random.length} seeded random strings as HF does`, () => {
    extra.random.forEach(expectLikeHf);
  });

  it(`decodes ${extra.decode.length} random id sequences (invalid UTF-8 runs, specials, unknown ids) as HF does`, () => {
    extra.decode.forEach(expectDecodeLikeHf);
  });

  it('applies clean_up_tokenization_spaces as transformers 5.18 does: never for BPE unless forced', async () => {
    const files = await readTokenizerFiles(TOKENIZER_DIR);
    const config = files.tokenizerConfig as Record<string, unknown>;
    const asked = GemmaTokenizer.fromFiles({
      ...files,
      tokenizerConfig: { ...config, clean_up_tokenization_spaces: true },
    });
    const forced = GemmaTokenizer.fromFiles({
      ...files,
      tokenizerConfig: {
        ...config,
        clean_up_tokenization_spaces: true,
        clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output: true,
      },
    });
    expect(extra.cleanup.some((c) => c.decode_cleanup !== c.decode_cleanup_forced)).toBe(true);
    for (const c of extra.cleanup) {
      expect(tokenizer.decode(c.ids, { cleanUpTokenizationSpaces: true })).toBe(c.decode_cleanup);
      expect(asked.decode(c.ids)).toBe(c.decode_cleanup);
      expect(forced.decode(c.ids)).toBe(c.decode_cleanup_forced);
      expect(forced.decode(c.ids, { cleanUpTokenizationSpaces: false })).toBe(c.decode_cleanup);
    }
  });

  it('takes bos/eos/pad/unk/<image> from the files, not from constants', () => {
    expect(tokenizer.bos).toEqual({ content: '<bos>', id: 2 });
    expect(tokenizer.eos).toEqual({ content: '<eos>', id: 1 });
    expect(tokenizer.pad).toEqual({ content: '<pad>', id: 0 });
    expect(tokenizer.unk).toEqual({ content: '<unk>', id: 3 });
    expect(tokenizer.imageToken).toEqual({ content: '<image>', id: 2176 });
    expect(tokenizer.vocabSize).toBe(2177);
  });

  it('keeps <loc>/<seg> when skipping special tokens and drops <image>, <bos>, <eos>, <pad>', () => {
    const ids = [2176, 2, tokenizer.tokenToId('<loc0012>')!, tokenizer.tokenToId('<seg099>')!, 1, 0];
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('<loc0012><seg099>');
    expect(tokenizer.isSpecial(2176)).toBe(true);
    expect(tokenizer.isSpecial(tokenizer.tokenToId('<loc0012>')!)).toBe(false);
  });

  it('decodes an empty id list to an empty string (the JS library throws there)', () => {
    expect(tokenizer.decode([])).toBe('');
    expect(tokenizer.decode(new BigInt64Array([2n, 1n]))).toBe('<bos><eos>');
  });
});

describe("the Gemma tokenizer's behaviour classes, on the fixture tokenizer (same SentencePiece options; the 256k Gemma tokenizer is not available here)", () => {
  const classes = extra.behaviour;
  const bytes = (c: TokenizerCase) => c.tokens.filter((t) => /^<0x[0-9A-F]{2}>$/.test(t)).length;

  it('byte fallback: characters outside the vocabulary become one <0xAB> token per UTF-8 byte', () => {
    const cases = classes['byte-fallback']!;
    expect(cases.some((c) => bytes(c) > 0)).toBe(true);
    cases.forEach(expectLikeHf);
    const euro = cases.find((c) => c.text === '€')!;
    expect(euro.tokens).toEqual(['<0xE2>', '<0x82>', '<0xAC>']);
  });

  it('digits: every digit is its own token', () => {
    const cases = classes.digits!;
    cases.forEach(expectLikeHf);
    for (const c of cases) {
      for (const t of c.tokens)
        if (!/^<0x/.test(t)) expect(t.match(/[0-9]/g)?.length ?? 0).toBeLessThanOrEqual(1);
    }
  });

  it('whitespace: spaces become ▁, runs are kept, no dummy prefix', () => {
    const cases = classes.whitespace!;
    cases.forEach(expectLikeHf);
    expect(cases.find((c) => c.text === ' leading')!.tokens[0]!.startsWith('▁')).toBe(true);
    const hello = golden.find((c) => c.text === 'hello')!;
    expect(hello.tokens[0]!.startsWith('▁')).toBe(false);
    expectLikeHf(hello);
  });

  it('added tokens: matched inline, special or not; near misses stay text', () => {
    const cases = classes['added-tokens']!;
    cases.forEach(expectLikeHf);
    expect(cases.find((c) => c.text === 'a<loc0005>b')!.tokens).toContain('<loc0005>');
    expect(cases.find((c) => c.text === '<loc005>')!.tokens).not.toContain('<loc005>');
  });
});

describe('loading', () => {
  it('refuses tokenizer files that do not name their special tokens, or that are not a tokenizer', async () => {
    const files = await readTokenizerFiles(TOKENIZER_DIR);
    expect(() => GemmaTokenizer.fromFiles({ tokenizer: files.tokenizer })).toThrowError(
      expect.objectContaining({ code: 'CORRUPT_FILE', message: expect.stringMatching(/bos_token/) }),
    );
    expect(() =>
      GemmaTokenizer.fromFiles({ tokenizer: files.tokenizer, tokenizerConfig: { bos_token: '<nope>' } }),
    ).toThrowError(
      expect.objectContaining({ code: 'CORRUPT_FILE', message: expect.stringMatching(/<nope>/) }),
    );
    expect(() => GemmaTokenizer.fromFiles({ tokenizer: [] })).toThrowError(
      expect.objectContaining({ code: 'CORRUPT_FILE' }),
    );
    // special_tokens_map.json alone is enough
    const fromMap = GemmaTokenizer.fromFiles({
      tokenizer: files.tokenizer,
      specialTokensMap: files.specialTokensMap,
    });
    expect(fromMap.eos.id).toBe(1);
  });

  it('says which file is missing or broken', async () => {
    await expect(loadTokenizerFromDir('/nonexistent/model')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
