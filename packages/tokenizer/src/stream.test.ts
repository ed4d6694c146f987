import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ExtraCases, goldenManifest, int32Rows, readJson, TOKENIZER_DIR } from '../test/fixtures.js';
import { GemmaTokenizer } from './gemma-tokenizer.js';
import { loadTokenizerFromDir, readTokenizerFiles } from './node.js';
import { StreamingDetokenizer } from './stream.js';

const tokenizer = await loadTokenizerFromDir(TOKENIZER_DIR);

/** Streams ids in chunks of `chunk`, checking that no delta ends inside a surrogate pair. */
function streamed(
  ids: readonly number[],
  skipSpecialTokens: boolean,
  chunk = 1,
): { text: string; deltas: string[] } {
  const stream = new StreamingDetokenizer(tokenizer, { skipSpecialTokens });
  const deltas: string[] = [];
  for (let i = 0; i < ids.length; i += chunk) deltas.push(stream.push(ids.slice(i, i + chunk)));
  deltas.push(stream.flush());
  for (const d of deltas) {
    if (d.length > 0)
      expect(d.charCodeAt(d.length - 1) >= 0xd800 && d.charCodeAt(d.length - 1) <= 0xdbff).toBe(false);
  }
  expect(deltas.join('')).toBe(stream.text);
  return { text: stream.text, deltas };
}

describe('StreamingDetokenizer', () => {
  const cases = goldenManifest().cases;

  it.each(cases.map((c) => [`${c.model} ${c.case}`, c] as const))(
    '%s: streamed greedy tokens equal HF decode of the generation',
    (_, c) => {
      const rows = int32Rows(c.tensors.tokens!);
      rows.forEach((row, r) => {
        expect(streamed(row, false).text).toBe(c.generated_text[r]);
        expect(streamed(row, false, 5).text).toBe(c.generated_text[r]);
      });
    },
  );

  const decodeCases = readJson<ExtraCases>('tokenizer-extra/cases.json').decode;
  it(`equals HF decode for ${decodeCases.length} random id sequences, with and without skipping specials`, () => {
    for (const c of decodeCases) {
      expect(streamed(c.ids, false).text).toBe(c.decode);
      expect(streamed(c.ids, true).text).toBe(c.decode_skip_special);
    }
  });

  it('holds back an unfinished multi-byte character until its last byte arrives', () => {
    const euro = ['<0xE2>', '<0x82>', '<0xAC>'].map((t) => tokenizer.tokenToId(t)!);
    const stream = new StreamingDetokenizer(tokenizer);
    expect(stream.push(tokenizer.encode('a', { addSpecialTokens: false }))).toBe('a');
    expect(stream.push(euro[0]!)).toBe('');
    expect(stream.push(euro[1]!)).toBe('');
    expect(stream.push(euro[2]!)).toBe('');
    // the run can still grow until a non-byte token ends it
    expect(stream.push(tokenizer.encode('b', { addSpecialTokens: false }))).toBe('€b');
    expect(stream.flush()).toBe('');
    stream.reset();
    expect(stream.text).toBe('');
  });

  it('equals the full decode when the tokenizer cleans up spaces, holding back what cleanup may change', async () => {
    const files = await readTokenizerFiles(TOKENIZER_DIR);
    const cleaning = GemmaTokenizer.fromFiles({
      ...files,
      tokenizerConfig: {
        ...(files.tokenizerConfig as Record<string, unknown>),
        clean_up_tokenization_spaces: true,
        clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output: true,
      },
    });
    for (const c of readJson<ExtraCases>('tokenizer-extra/cases.json').cleanup) {
      const stream = new StreamingDetokenizer(cleaning);
      let text = '';
      for (const id of c.ids) text += stream.push(id);
      text += stream.flush();
      expect(text).toBe(c.decode_cleanup_forced);
    }
  });

  it('equals the full decode for any id sequence, in any chunking (fast-check)', () => {
    const id = fc.oneof(
      fc.integer({ min: 0, max: tokenizer.vocabSize + 3 }),
      fc.integer({ min: 8, max: 263 }), // byte-fallback tokens
    );
    fc.assert(
      fc.property(
        fc.array(id, { maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        (ids, chunk, skip) => {
          expect(streamed(ids, skip, chunk).text).toBe(tokenizer.decode(ids, { skipSpecialTokens: skip }));
        },
      ),
      { numRuns: 500 },
    );
  });
});
