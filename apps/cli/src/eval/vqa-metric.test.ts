import { describe, expect, it } from 'vitest';
import { normalizePrediction, processDigitArticle, processPunctuation, vqaAccuracy } from './vqa-metric.js';

// Expected values were produced by running the official vqaEval.py functions (processPunctuation,
// processDigitArticle and the per-question accuracy loop, Python 3 `re`) on the same inputs.
const OFFICIAL: [input: string, punctuation: string, normalized: string][] = [
  ['Two dogs.', 'Two dogs', '2 dogs'],
  ['1,000 people', '1000 people', '1000 people'],
  ['a cat-dog', 'a cat dog', 'cat dog'],
  ['hello - world', 'hello  world', 'hello world'],
  ['3.5 m.', '3.5 m', '3.5 m'],
  ['e.g. yes', 'eg yes', 'eg yes'],
  ['The  Dont\tstop', 'The  Dont\tstop', "don't stop"],
  ['yes!', 'yes ', 'yes'],
  [`x${'. a'.repeat(40)}`, `x${' a'.repeat(32)}${'. a'.repeat(8)}`, `x${' a.'.repeat(8)}`],
  ['U.S.A.', 'USA', 'usa'],
  ['(none)', ' none ', '0'],
  ["it's 10:30", "it's 10:30", "it's 10:30"],
  ['dont, stop', 'dont stop', "don't stop"],
];

describe('VQA answer normalisation (official vqaEval.py behaviour)', () => {
  for (const [input, punctuation, normalized] of OFFICIAL) {
    it(`normalises ${JSON.stringify(input.slice(0, 24))}`, () => {
      expect(processPunctuation(input)).toBe(punctuation);
      expect(processDigitArticle(processPunctuation(input))).toBe(normalized);
    });
  }

  it('removes at most 32 periods (re.UNICODE passed as the count)', () => {
    expect(processPunctuation('a.'.repeat(40))).toBe(`${'a'.repeat(32)}${'a.'.repeat(8)}`);
  });

  it('keeps periods before digits and commas between digits decide the whole answer', () => {
    expect(processPunctuation('.5')).toBe('.5');
    // A digit comma anywhere makes every punctuation mark vanish instead of becoming a space.
    expect(processPunctuation('1,5 cat-dog')).toBe('15 catdog');
  });

  it('maps contractions after articles and number words, and strips newlines and tabs first', () => {
    expect(normalizePrediction('  Whats\nthe  ten \t')).toBe("what's 10");
    expect(processDigitArticle('an Ive a')).toBe('ive');
  });
});

describe('vqaAccuracy', () => {
  it('hand-computed: min(matches/3, 1) averaged over the ten leave-one-out subsets', () => {
    // 3 humans said yes: leaving out a yes leaves 2 matches (2/3), leaving out a no leaves 3 (1).
    // (3 × 2/3 + 7 × 1) / 10 = 0.9
    const three = ['yes', 'yes', 'yes', 'no', 'no', 'no', 'no', 'no', 'no', 'no'];
    expect(vqaAccuracy('yes', three)).toBeCloseTo(0.9, 12);
    // 2 yes: (2 × 1/3 + 8 × 2/3) / 10 = 0.6
    const two = ['yes', 'yes', 'no', 'no', 'no', 'no', 'no', 'no', 'no', 'no'];
    expect(vqaAccuracy('Yes.', two)).toBeCloseTo(0.6, 12);
    // 1 yes: (1 × 0 + 9 × 1/3) / 10 = 0.3
    expect(vqaAccuracy('yes', ['yes', ...Array(9).fill('no')])).toBeCloseTo(0.3, 12);
    expect(vqaAccuracy('maybe', two)).toBe(0);
    expect(vqaAccuracy('yes', Array(10).fill('yes'))).toBe(1);
    expect(vqaAccuracy('yes', [])).toBe(0);
  });

  it('matches the official script on its quirks', () => {
    expect(vqaAccuracy('two', Array(10).fill('2'))).toBe(1);
    expect(vqaAccuracy('Two', ['2', '2', '2', 'two', '1', '1', '1', '1', '1', '1'])).toBeCloseTo(0.9, 12);
    // Identical human answers are taken as already normalised: "one" is never matched by "1".
    expect(vqaAccuracy('one', Array(10).fill('one'))).toBe(0);
    expect(vqaAccuracy('1,000', ['1,000', '1000', '1000', '1000', 'a', 'b', 'c', 'd', 'e', 'f'])).toBe(1);
  });
});
