/**
 * Logits processing with the semantics of HF transformers' processors and warpers
 * (RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper, TopK/TopP/MinPLogitsWarper), applied
 * in HF's order. The vocabulary is large (257k), so after the O(V) passes that cannot be avoided
 * (penalty on seen tokens, max, one exp per token) everything works on a small candidate set.
 */

export interface SamplingOptions {
  /** Divides the logits; 0 or absent means greedy decoding. */
  temperature?: number;
  /** Keep the k most likely tokens (ties with the k-th kept, as HF). 0 or absent: no limit. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability adds up to at least topP. */
  topP?: number;
  /** Drop tokens whose probability is below minP × the top token's probability. */
  minP?: number;
  /** HF's repetition penalty over every token already in the sequence (prompt included). */
  repetitionPenalty?: number;
}

/**
 * HF RepetitionPenaltyLogitsProcessor: for each distinct token already in the sequence, a negative
 * logit is multiplied by the penalty and a positive one divided by it. Changes `logits` in place.
 */
export function applyRepetitionPenalty(
  logits: Float32Array,
  seenTokens: Iterable<number>,
  penalty: number,
): void {
  if (penalty === 1) return;
  if (!(penalty > 0)) throw new RangeError(`repetitionPenalty must be > 0, got ${penalty}`);
  const done = new Set<number>();
  for (const id of seenTokens) {
    if (done.has(id) || id < 0 || id >= logits.length) continue;
    done.add(id);
    const v = logits[id]!;
    logits[id] = v < 0 ? v * penalty : v / penalty;
  }
}

/** Index of the largest logit; the first one on ties, as torch.argmax. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** The tokens that survive the warpers, with their temperature-scaled logits. */
export interface Candidates {
  ids: Int32Array;
  logits: Float32Array;
}

/**
 * Applies temperature, top-k, top-p and min-p as HF does (in that order) and returns the surviving
 * tokens, most likely first (in index order when no filter is active). `logits` is not modified.
 */
export function warpLogits(logits: Float32Array, options: SamplingOptions): Candidates {
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0 for sampling, got ${temperature}`);
  const vocab = logits.length;
  const topK = options.topK && options.topK > 0 ? Math.min(options.topK, vocab) : vocab;
  const topP = options.topP ?? 1;
  const minP = options.minP ?? 0;
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`);
  if (!(minP >= 0 && minP <= 1)) throw new RangeError(`minP must be in [0, 1], got ${minP}`);

  if (topK === vocab && topP === 1 && minP === 0) {
    const all = new Float32Array(vocab);
    for (let i = 0; i < vocab; i++) all[i] = logits[i]! / temperature;
    return { ids: Int32Array.from({ length: vocab }, (_, i) => i), logits: all };
  }

  // Softmax denominator of the distribution top-p sees: the top-k tokens, or the whole vocabulary.
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vocab; i++) if (logits[i]! > max) max = logits[i]!;
  const scaledMax = max / temperature;
  let total = 0;
  if (topK === vocab && topP < 1) {
    for (let i = 0; i < vocab; i++) total += Math.exp(logits[i]! / temperature - scaledMax);
  }

  // Grow a partial selection of the best tokens until the kept prefix ends inside it, instead of
  // sorting 257k logits every step.
  let count = topK < vocab ? topK : Math.min(vocab, 64);
  for (;;) {
    const ids = sortByLogitDesc(logits, topIndices(logits, count, topK < vocab));
    const scaled = new Float32Array(ids.length);
    for (let i = 0; i < ids.length; i++) scaled[i] = logits[ids[i]!]! / temperature;
    if (topK < vocab && topP < 1) {
      total = 0;
      for (let i = 0; i < scaled.length; i++) total += Math.exp(scaled[i]! - scaledMax);
    }
    let keep = ids.length;
    if (topP < 1) {
      // HF drops tokens whose ascending cumulative probability is <= 1 - topP: a token stays while
      // the probability mass strictly above it is below topP.
      let above = 0;
      keep = 0;
      while (keep < ids.length && (keep === 0 || above < topP)) {
        above += Math.exp(scaled[keep]! - scaledMax) / total;
        keep++;
      }
    }
    if (minP > 0) {
      // p_i < minP * p_max  <=>  s_i - s_max < log(minP); the top token always stays.
      const threshold = Math.log(minP);
      let k = 1;
      while (k < keep && scaled[k]! - scaledMax >= threshold) k++;
      keep = k;
    }
    const exhausted = ids.length >= vocab || topK < vocab;
    if (keep < ids.length || exhausted) return { ids: ids.slice(0, keep), logits: scaled.slice(0, keep) };
    count = Math.min(vocab, count * 4);
  }
}

/** Samples one candidate in proportion to softmax(logits), using `uniform` in [0, 1). */
export function sampleCandidate(candidates: Candidates, uniform: number): number {
  const { ids, logits } = candidates;
  if (ids.length === 0) throw new RangeError('no candidate tokens to sample from');
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += Math.exp(logits[i]! - max);
  let target = uniform * total;
  for (let i = 0; i < logits.length; i++) {
    target -= Math.exp(logits[i]! - max);
    if (target < 0) return ids[i]!;
  }
  return ids[ids.length - 1]!;
}

/**
 * The indices of the `count` largest logits (unordered). With `withTies`, every token equal to the
 * count-th value is included too, as HF's top-k keeps ties.
 */
function topIndices(logits: Float32Array, count: number, withTies: boolean): Int32Array {
  const n = logits.length;
  if (count >= n) return Int32Array.from({ length: n }, (_, i) => i);
  // Threshold by selecting the count-th largest value on a copy (quickselect), then collect.
  const values = Float32Array.from(logits);
  const kth = quickselectDesc(values, count - 1);
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (logits[i]! > kth) out.push(i);
  for (let i = 0; i < n && (withTies || out.length < count); i++) if (logits[i]! === kth) out.push(i);
  return Int32Array.from(out);
}

function sortByLogitDesc(logits: Float32Array, indices: Int32Array): Int32Array {
  const arr = Array.from(indices);
  arr.sort((a, b) => logits[b]! - logits[a]! || a - b);
  return Int32Array.from(arr);
}

/** The k-th largest value of `values` (0-based), reordering `values`. */
function quickselectDesc(values: Float32Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! > pivot) i++;
      while (values[j]! < pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}
