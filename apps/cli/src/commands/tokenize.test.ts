import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../exit-codes.js';
import { runCli } from '../run.js';
import { bufferIO } from '../test-io.js';

const FIXTURES = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
/** Token ids from HF tokenizers (Rust), written by tooling/golden/tokcases.py. */
const cases = (
  JSON.parse(readFileSync(`${FIXTURES}golden/tokenizer-cases.json`, 'utf8')) as {
    cases: { text: string; ids: number[]; tokens: string[]; ids_with_special: number[] }[];
  }
).cases;
const golden = (text: string) => {
  const c = cases.find((x) => x.text === text);
  if (!c) throw new Error(`no golden case ${JSON.stringify(text)}`);
  return c;
};

describe('pali tokenize', () => {
  it('prints the ids and tokens HF tokenizers gives, as JSON', async () => {
    const c = golden('answer en what is this?');
    const io = bufferIO({ cwd: FIXTURES });
    expect(
      await runCli(['tokenize', '--model', 'tokenizer', c.text, '--json', '--no-special-tokens'], io),
    ).toBe(EXIT.OK);
    expect(JSON.parse(io.out())).toEqual({ ids: c.ids, tokens: c.tokens });
  });

  it('adds <bos> by default and prints one token per line', async () => {
    const c = golden('<loc0000><loc1023><loc0512><loc0256> cat');
    const io = bufferIO({ cwd: FIXTURES });
    expect(await runCli(['tokenize', '--model', 'tokenizer', c.text], io)).toBe(EXIT.OK);
    const lines = io.out().trimEnd().split('\n');
    expect(lines[0]).toBe(`${c.ids_with_special.length} tokens`);
    expect(lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual(c.ids_with_special);
    expect(lines[2]).toContain('"<loc0000>"');
  });

  it('fails with NOT_FOUND for a folder without tokenizer.json', async () => {
    const io = bufferIO({ cwd: FIXTURES });
    expect(await runCli(['tokenize', '--model', 'images', 'x'], io)).toBe(EXIT.FAILURE);
    expect(io.err()).toMatch(/^pali: error NOT_FOUND: .*tokenizer\.json/);
  });
});
