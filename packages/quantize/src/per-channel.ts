// int8 per-output-channel quantization for DynamicQuantizeMatMul, computed as onnxruntime's dynamic
// quantizer does (quant_utils.compute_scale_zp + quantize_nparray: numpy round-half-to-even).
import { checkMatrix, nonFinite, type Shape2D } from './check.js';

export interface PerChannelOptions {
  /**
   * true (default, onnxruntime's default QInt8 weights): int8, scale = absmax/127, no zero point.
   * false: uint8 with a zero point per channel, scale = (max(max,0) - min(min,0))/255.
   */
  symmetric?: boolean;
}

/** A Linear weight [N, K] as DynamicQuantizeMatMul's B [K, N] with per-column scales. */
export interface PerChannelQuantized {
  readonly N: number;
  readonly K: number;
  /** [K, N] (transposed from the Linear layout): Int8Array if symmetric, else Uint8Array. */
  readonly b: Int8Array | Uint8Array;
  /** [N] */
  readonly scales: Float32Array;
  /** [N] uint8, only when not symmetric. */
  readonly zeroPoints?: Uint8Array;
}

const F32_TINY = 2 ** -126;

/** Round half to even, as numpy.round / rint. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Quantizes each output channel (row n of the [N, K] Linear weight) on its own, and transposes to the
 * [K, N] layout DynamicQuantizeMatMul multiplies by. A channel whose range is below float32's smallest
 * normal gets scale 1, as onnxruntime does.
 */
export function quantizePerChannel(
  weight: Float32Array,
  shape: Shape2D,
  options: PerChannelOptions = {},
): PerChannelQuantized {
  const what = 'quantizePerChannel';
  const [N, K] = checkMatrix(what, weight, shape);
  const symmetric = options.symmetric ?? true;
  const b = symmetric ? new Int8Array(K * N) : new Uint8Array(K * N);
  const scales = new Float32Array(N);
  const zeroPoints = symmetric ? undefined : new Uint8Array(N);
  const fr = Math.fround;
  const [qmin, qmax] = symmetric ? [-128, 127] : [0, 255];
  for (let n = 0; n < N; n++) {
    const row = n * K;
    let lo = 0;
    let hi = 0;
    for (let k = 0; k < K; k++) {
      const v = weight[row + k]!;
      if (!Number.isFinite(v)) throw nonFinite(what, v, n, k);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    let scale: number;
    let zp: number;
    if (symmetric) {
      const absmax = Math.max(-lo, hi);
      // (absmax - (-absmax)) in float32 is exact; divided by 254 in float64, then cast to float32.
      scale = (2 * absmax) / 254;
      zp = 0;
    } else {
      scale = fr(hi - lo) / 255;
      zp = roundHalfEven(0 - lo / scale);
    }
    if (scale < F32_TINY) {
      scale = 1;
      zp = 0;
    }
    scale = fr(scale);
    scales[n] = scale;
    if (zeroPoints) zeroPoints[n] = zp;
  }
  // Written transposed in tiles, so the strided stores stay within a few cache lines.
  const T = 64;
  for (let n0 = 0; n0 < N; n0 += T)
    for (let k0 = 0; k0 < K; k0 += T) {
      const n1 = Math.min(N, n0 + T);
      const k1 = Math.min(K, k0 + T);
      for (let n = n0; n < n1; n++) {
        const scale = scales[n]!;
        const zp = zeroPoints?.[n] ?? 0;
        for (let k = k0; k < k1; k++) {
          const q = roundHalfEven(fr(weight[n * K + k]! / scale)) + zp;
          b[k * N + n] = Math.max(qmin, Math.min(qmax, q));
        }
      }
    }
  return { N, K, b, scales, ...(zeroPoints ? { zeroPoints } : {}) };
}

/** The [N, K] weight DynamicQuantizeMatMul multiplies by: (q - zp) · scale. */
export function dequantizePerChannel(q: PerChannelQuantized): Float32Array {
  const { N, K } = q;
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    const s = q.scales[n]!;
    const zp = q.zeroPoints?.[n] ?? 0;
    for (let k = 0; k < K; k++) out[n * K + k] = Math.fround((q.b[k * N + n]! - zp) * s);
  }
  return out;
}
