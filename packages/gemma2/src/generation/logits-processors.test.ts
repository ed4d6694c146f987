import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SamplingOptions } from './logits-processors.js';
import { applyRepetitionPenalty, argmax, sampleCandidate, warpLogits } from './logits-processors.js';
import { SeededRandom } from './prng.js';

interface Case {
  options: SamplingOptions;
  logits: number[];
  seen: number[];
  kept: number[];
  keptLogits: number[];
}
// Made by HF transformers' own processors: tooling/golden/sampling_cases.py.
const golden = JSON.parse(
  readFileSync(new URL('../../../../fixtures/sampling/cases.json', import.meta.url), 'utf8'),
) as { vocab: number; cases: Case[] };

describe('logits processors match HF transformers', () => {
  it.each(golden.cases.map((c, i) => [i, JSON.stringify(c.options), c] as const))(
    'case %i %s keeps the same tokens with the same logits',
    (_i, _name, c) => {
      const logits = Float32Array.from(c.logits);
      if (c.options.repetitionPenalty) applyRepetitionPenalty(logits, c.seen, c.options.repetitionPenalty);
      const { ids, logits: kept } = warpLogits(logits, c.options);
      const order = Array.from(ids.keys()).sort((a, b) => ids[a]! - ids[b]!);
      expect(order.map((k) => ids[k])).toEqual(c.kept);
      const ours = order.map((k) => kept[k]!);
      for (let k = 0; k < ours.length; k++) {
        expect(Math.abs(ours[k]! - c.keptLogits[k]!)).toBeLessThanOrEqual(
          1e-5 * Math.max(1, Math.abs(c.keptLogits[k]!)),
        );
      }
    },
  );
});

describe('argmax and sampling', () => {
  it('argmax takes the first of tied maxima', () => {
    expect(argmax(Float32Array.from([1, 3, 3, 2]))).toBe(1);
  });

  it('samples in proportion to the probabilities', () => {
    const candidates = warpLogits(Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]), {});
    const rng = new SeededRandom(42);
    const counts = [0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleCandidate(candidates, rng.nextFloat())]!++;
    expect(counts[0]! / n).toBeCloseTo(0.5, 1);
    expect(counts[1]! / n).toBeCloseTo(0.3, 1);
    expect(counts[2]! / n).toBeCloseTo(0.2, 1);
  });

  it('top-p on a large vocabulary only sorts what it needs and still finds the nucleus', () => {
    const vocab = 257216;
    const logits = new Float32Array(vocab).fill(-20);
    logits[100] = 5;
    logits[200] = 4.5;
    logits[300] = 4;
    const { ids } = warpLogits(logits, { topP: 0.9 });
    expect(Array.from(ids)).toEqual([100, 200, 300]);
  });

  it('rejects out-of-range options', () => {
    const logits = Float32Array.from([0, 1]);
    expect(() => warpLogits(logits, { temperature: 0 })).toThrow(/temperature/);
    expect(() => warpLogits(logits, { topP: 1.5 })).toThrow(/topP/);
    expect(() => warpLogits(logits, { minP: -1 })).toThrow(/minP/);
  });
});

describe('SeededRandom', () => {
  it('is deterministic per seed and spreads over [0, 1)', () => {
    const a = new SeededRandom(1);
    const b = new SeededRandom(1);
    const xs = Array.from({ length: 1000 }, () => a.nextFloat());
    expect(Array.from({ length: 1000 }, () => b.nextFloat())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(new SeededRandom(2).nextFloat()).not.toBe(xs[0]);
  });
});
