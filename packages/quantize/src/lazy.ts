// Lazy initializers for quantized weights: the checkpoint tensor is read and quantized only when the
// model writer reaches the first of its parts (B, scales, zero points), and dropped once every part has
// been written, so a streamed conversion holds one source tensor (plus its quantized form) at a time.
import type { TensorBytes } from '@pali/onnx';

/** Produces a Linear weight [N, K] (out, in) as float32, e.g. `() => checkpoint.read(name)`. */
export type WeightSource = () => Float32Array | Promise<Float32Array>;

/**
 * One computation shared by several lazy initializers: `part(key)` is a LazyTensorSource for one of its
 * outputs. The computation runs on the first request and is released when every part in `keys` (read at
 * that moment, so parts may be added while the graph is built) was taken; a part asked for again (a
 * second write of the same graph) starts it over.
 */
export function sharedLazy<K extends string>(
  keys: readonly K[],
  compute: () => Promise<Record<K, TensorBytes>>,
): (key: K) => () => Promise<TensorBytes> {
  let pending: Promise<Record<K, TensorBytes>> | undefined;
  let left = new Set<K>();
  return (key) => async () => {
    if (!pending || !left.has(key)) {
      pending = compute();
      left = new Set(keys);
    }
    const current = pending;
    left.delete(key);
    if (left.size === 0) pending = undefined;
    const parts = await current;
    return parts[key];
  };
}

/** [rows, cols] → [cols, rows]. */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  // Tiles keep both the reads and the writes within a few cache lines.
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T)
    for (let c0 = 0; c0 < cols; c0 += T) {
      const r1 = Math.min(rows, r0 + T);
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = src[r * cols + c]!;
    }
  return out;
}
