import { describe, expect, it } from 'vitest';
import { compareLogits, relativeError, sequenceAgreement, topK, topKAgreement } from './metrics.js';

describe('error metrics', () => {
  it('relativeError: max and RMS, absolute and relative to the reference', () => {
    // ref = [3, -4, 0, 0], test = [3, -4, 0, 2]: max |d| 2, max |ref| 4, RMS d = sqrt(4/4) = 1,
    // RMS ref = sqrt(25/4) = 2.5.
    expect(relativeError([3, -4, 0, 0], [3, -4, 0, 2])).toEqual({
      maxAbs: 2,
      maxRef: 4,
      relMax: 0.5,
      rms: 1,
      relRms: 0.4,
    });
    expect(relativeError([1, 2], [1, 2]).relRms).toBe(0);
    expect(relativeError([1, 2], [1, Number.NaN]).maxAbs).toBeNaN();
    expect(() => relativeError([1, 2], [1])).toThrow(/Cannot compare 1 values with 2/);
  });

  it('topK: largest first, ties to the lower index', () => {
    expect(topK([1, 5, 3, 5, 0], 3)).toEqual([1, 3, 2]);
    expect(topK([2, 1], 5)).toEqual([0, 1]);
    expect(topK([9, 1, 2, 3, 9], 2, 1, 3)).toEqual([2, 1]); // within [1, 4): values 1, 2, 3
  });

  it('topKAgreement and compareLogits over rows of the vocabulary', () => {
    const ref = [0, 1, 5, 2, /* row 2 */ 9, 8, 0, 1];
    const test = [0, 1, 4, 3, /* row 2 */ 7, 8, 0, 1];
    expect(topKAgreement(ref, test, 4, 1)).toBe(0.5);
    expect(topKAgreement(ref, test, 4, 2)).toBe(1);
    const c = compareLogits(ref, test, 4);
    expect(c.rows).toBe(2);
    expect(c.top1).toBe(0.5);
    expect(c.top1PerRow).toEqual([true, false]);
    expect(c.refMargin).toEqual([3, 1]);
    expect(c.maxAbs).toBe(2);
    expect(() => compareLogits(ref, test, 3)).toThrow(/not rows of 3/);
  });

  it('sequenceAgreement: common prefix and positionwise agreement', () => {
    expect(sequenceAgreement([1, 2, 3, 4], [1, 2, 3, 4])).toEqual({
      tokenAgreement: 1,
      commonPrefix: 4,
      exact: true,
    });
    expect(sequenceAgreement([1, 2, 3, 4], [1, 2, 9, 4])).toEqual({
      tokenAgreement: 0.75,
      commonPrefix: 2,
      exact: false,
    });
    expect(sequenceAgreement([1, 2], [1, 2, 5, 6])).toEqual({
      tokenAgreement: 0.5,
      commonPrefix: 2,
      exact: false,
    });
  });
});
