// How far a quantized model's outputs are from the float32 reference: the numbers the quant report shows.
import { ERROR_CODES, PaliError } from '@pali/errors';

export interface RelativeError {
  /** max |test - ref| */
  maxAbs: number;
  /** max |ref| */
  maxRef: number;
  /** maxAbs / maxRef */
  relMax: number;
  /** sqrt(mean((test - ref)²)) */
  rms: number;
  /** rms / sqrt(mean(ref²)) */
  relRms: number;
}

function sameLength(ref: ArrayLike<number>, test: ArrayLike<number>): void {
  if (ref.length !== test.length || ref.length === 0)
    throw new PaliError(
      ERROR_CODES.SHAPE_MISMATCH,
      `Cannot compare ${test.length} values with ${ref.length} reference values`,
      { hint: 'Compare outputs of the same shape (same prompt, same number of steps)' },
    );
}

/** Error of `test` against `ref` (float64 sums). A NaN in test makes every figure NaN. */
export function relativeError(ref: ArrayLike<number>, test: ArrayLike<number>): RelativeError {
  sameLength(ref, test);
  let maxAbs = 0;
  let maxRef = 0;
  let se = 0;
  let sr = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const d = test[i]! - r;
    const ad = Math.abs(d);
    if (!(ad <= maxAbs)) maxAbs = ad; // NaN sticks
    if (Math.abs(r) > maxRef) maxRef = Math.abs(r);
    se += d * d;
    sr += r * r;
  }
  const rms = Math.sqrt(se / ref.length);
  const rmsRef = Math.sqrt(sr / ref.length);
  return {
    maxAbs,
    maxRef,
    relMax: maxRef > 0 ? maxAbs / maxRef : maxAbs === 0 ? 0 : Number.POSITIVE_INFINITY,
    rms,
    relRms: rmsRef > 0 ? rms / rmsRef : rms === 0 ? 0 : Number.POSITIVE_INFINITY,
  };
}

/** Indices of the k largest values of row[from, from+n), largest first (ties: lower index first). */
export function topK(values: ArrayLike<number>, k: number, from = 0, n = values.length - from): number[] {
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[from + i]!;
    if (best.length === k && !(v > values[from + best[k - 1]!]!)) continue;
    let j = best.length === k ? k - 1 : best.length;
    while (j > 0 && v > values[from + best[j - 1]!]!) j--;
    best.splice(j, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}

function rows(what: string, length: number, vocab: number): number {
  if (!Number.isInteger(vocab) || vocab <= 0 || length % vocab !== 0)
    throw new PaliError(ERROR_CODES.SHAPE_MISMATCH, `${what}: ${length} logits are not rows of ${vocab}`, {
      hint: 'Pass the vocabulary size as the last dimension of the logits',
    });
  return length / vocab;
}

/**
 * Per row of `vocab` logits: |topK(ref) ∩ topK(test)| / k, averaged over rows. With k = 1 this is the
 * fraction of positions whose argmax agrees.
 */
export function topKAgreement(ref: ArrayLike<number>, test: ArrayLike<number>, vocab: number, k = 1): number {
  sameLength(ref, test);
  const n = rows('topKAgreement', ref.length, vocab);
  let sum = 0;
  for (let r = 0; r < n; r++) {
    const a = topK(ref, k, r * vocab, vocab);
    const b = new Set(topK(test, k, r * vocab, vocab));
    sum += a.filter((i) => b.has(i)).length / k;
  }
  return sum / n;
}

export interface LogitsComparison extends RelativeError {
  rows: number;
  /** Fraction of rows whose argmax agrees. */
  top1: number;
  /** Mean overlap of the top 5. */
  top5: number;
  /** Per row: does the argmax agree? */
  top1PerRow: boolean[];
  /** Per row: the reference's top-1 minus its top-2 logit (small margins explain disagreements). */
  refMargin: number[];
}

/** Everything the quant report shows for one set of logits [rows, vocab]. */
export function compareLogits(
  ref: ArrayLike<number>,
  test: ArrayLike<number>,
  vocab: number,
): LogitsComparison {
  sameLength(ref, test);
  const n = rows('compareLogits', ref.length, vocab);
  const top1PerRow: boolean[] = [];
  const refMargin: number[] = [];
  for (let r = 0; r < n; r++) {
    const [a, a2] = topK(ref, 2, r * vocab, vocab);
    top1PerRow.push(topK(test, 1, r * vocab, vocab)[0] === a);
    refMargin.push(a2 === undefined ? Number.POSITIVE_INFINITY : ref[r * vocab + a!]! - ref[r * vocab + a2]!);
  }
  return {
    ...relativeError(ref, test),
    rows: n,
    top1: top1PerRow.filter(Boolean).length / n,
    top5: topKAgreement(ref, test, vocab, Math.min(5, vocab)),
    top1PerRow,
    refMargin,
  };
}

export interface SequenceAgreement {
  /** Tokens equal at the same position, over the longer length. */
  tokenAgreement: number;
  /** Length of the common prefix (greedy decoding diverges for good after the first difference). */
  commonPrefix: number;
  exact: boolean;
}

/** How far two greedy generations agree. */
export function sequenceAgreement(ref: ArrayLike<number>, test: ArrayLike<number>): SequenceAgreement {
  const n = Math.max(ref.length, test.length);
  let same = 0;
  let prefix = -1;
  for (let i = 0; i < n; i++) {
    const eq = i < ref.length && i < test.length && ref[i] === test[i];
    if (eq) same++;
    else if (prefix < 0) prefix = i;
  }
  if (prefix < 0) prefix = n;
  return { tokenAgreement: n === 0 ? 1 : same / n, commonPrefix: prefix, exact: prefix === n };
}
