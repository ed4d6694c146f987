// NF4 (4-bit NormalFloat, bitsandbytes / QLoRA) block quantization for com.microsoft MatMulBnb4, computed
// as onnxruntime's quantize_matmul_bnb4 does: absmax per block of the flattened [N, K] weight, each
// value/absmax mapped to the nearest of 16 code values by the same float32 decision thresholds.
import { checkBlockSize, checkMatrix, nonFinite, type Shape2D } from './check.js';

/** The NF4 code table (bitsandbytes), as float32. */
export const NF4_CODE = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

// Midpoints between neighbouring codes, as float32 (the thresholds onnxruntime and bitsandbytes use):
// code i+1 is chosen when x > T[i].
const T = Float32Array.from([
  -0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544, -0.23460740596055984,
  -0.13791173323988914, -0.045525018125772476, 0.03979014977812767, 0.1202552504837513, 0.2035212516784668,
  0.2920137718319893, 0.3893125355243683, 0.5016634166240692, 0.6427869200706482, 0.8614784181118011,
]);

/** The NF4 code of x ∈ [-1, 1]: the index of the nearest code value (a 4-level search on T). */
export function nf4Code(x: number): number {
  // Unrolled binary search: each level halves the code range [lo, lo + 16).
  let lo = x > T[7]! ? 8 : 0;
  lo += x > T[lo + 3]! ? 4 : 0;
  lo += x > T[lo + 1]! ? 2 : 0;
  return lo + (x > T[lo]! ? 1 : 0);
}

export interface Nf4Quantized {
  readonly N: number;
  readonly K: number;
  readonly blockSize: number;
  /** uint8 [ceil(N·K/2)]: the flattened [N, K] weight, element 2i in the HIGH nibble of byte i. */
  readonly packed: Uint8Array;
  /** [ceil(N·K/blockSize)] */
  readonly absmax: Float32Array;
}

/**
 * NF4-quantizes a Linear weight [N, K] (MatMulBnb4's B is the transpose of MatMul's [K, N] weight, i.e.
 * exactly this layout), in blocks over the flattened tensor (a block may span rows).
 */
export function quantizeNf4(
  weight: Float32Array,
  shape: Shape2D,
  options: { blockSize: number },
): Nf4Quantized {
  const what = 'quantizeNf4';
  const [N, K] = checkMatrix(what, weight, shape);
  const { blockSize } = options;
  checkBlockSize(what, blockSize);
  const numel = N * K;
  const blocks = Math.ceil(numel / blockSize);
  const packed = new Uint8Array(Math.ceil(numel / 2));
  const absmax = new Float32Array(blocks);
  const fr = Math.fround;
  for (let b = 0; b < blocks; b++) {
    const i0 = b * blockSize;
    const i1 = Math.min(numel, i0 + blockSize);
    let m = 0;
    for (let i = i0; i < i1; i++) {
      const v = weight[i]!;
      if (!Number.isFinite(v)) throw nonFinite(what, v, Math.floor(i / K), i % K);
      const a = Math.abs(v);
      if (a > m) m = a;
    }
    absmax[b] = m;
    const recip = m !== 0 ? fr(1 / m) : 0;
    // Blocks start at even elements (block sizes are even): pairs share a byte, the first one high.
    let i = i0;
    for (; i + 1 < i1; i += 2)
      packed[i >> 1] = (nf4Code(fr(weight[i]! * recip)) << 4) | nf4Code(fr(weight[i + 1]! * recip));
    if (i < i1) packed[i >> 1] = nf4Code(fr(weight[i]! * recip)) << 4;
    // An odd tail's missing partner quantizes 0 (code 7), as onnxruntime writes it.
    if (i < i1) packed[i >> 1]! |= nf4Code(0);
  }
  return { N, K, blockSize, packed, absmax };
}

/** code · absmax for each element: the [N, K] weight MatMulBnb4 multiplies by. */
export function dequantizeNf4(q: Nf4Quantized): Float32Array {
  const numel = q.N * q.K;
  const out = new Float32Array(numel);
  for (let i = 0; i < numel; i++) {
    const byte = q.packed[i >> 1]!;
    const code = i & 1 ? byte & 15 : byte >> 4;
    out[i] = Math.fround(NF4_CODE[code]! * q.absmax[Math.floor(i / q.blockSize)]!);
  }
  return out;
}
