// Block-wise int4/int8 quantization in MatMulNBits' layout, computed as onnxruntime's own quantizer does
// (MLAS BlockwiseQuantizer, behind onnxruntime.quantization.matmul_nbits_quantizer), bit for bit.
import { f16ToF32, f32ToF16 } from '@pali/onnx';
import { checkBits, checkBlockSize, checkMatrix, nonFinite, type Shape2D } from './check.js';

export interface BlockwiseOptions {
  bits: 4 | 8;
  /** Elements per block along K: a power of two ≥ 16 (32, 64 or 128 in practice). */
  blockSize: number;
  /**
   * true: no zero points (the op's default 8 / 128) and a signed scale, -absmax/8 (-absmax/128), so the
   * value of largest magnitude maps exactly to -8 (-128). false: min/max range with a zero point.
   */
  symmetric: boolean;
  /**
   * Round the scales to float16 before quantizing with them, as onnxruntime's quantizer does for a
   * float16 model (q4f16): the nibbles then match the float16 scales the graph stores.
   */
  scaleDtype?: 'float32' | 'float16';
}

/** A [N, K] weight quantized along K, laid out as MatMulNBits' B, scales and zero_points inputs. */
export interface BlockQuantized {
  readonly N: number;
  readonly K: number;
  readonly bits: 4 | 8;
  readonly blockSize: number;
  readonly kBlocks: number;
  /** Bytes per block: blockSize·bits/8. */
  readonly blobSize: number;
  /** uint8 [N, kBlocks, blobSize]; 4-bit: element 2i in the low nibble of byte i. Padding is 0. */
  readonly packed: Uint8Array;
  /** [N·kBlocks], row-major [N, kBlocks]; float16-exact values when scaleDtype was float16. */
  readonly scales: Float32Array;
  /**
   * Absent when symmetric; uint8 [N, zeroPointBytesPerRow], 4-bit: block 2j in the low nibble (an unused
   * last nibble holds 8).
   */
  readonly zeroPoints?: Uint8Array;
}

export interface BlockwiseLayout {
  kBlocks: number;
  blobSize: number;
  packedBytes: number;
  scaleCount: number;
  /** ceil(kBlocks·bits/8): zero-point bytes per row. */
  zeroPointBytesPerRow: number;
}

export function blockwiseLayout(N: number, K: number, bits: 4 | 8, blockSize: number): BlockwiseLayout {
  const kBlocks = Math.ceil(K / blockSize);
  const blobSize = (blockSize * bits) / 8;
  return {
    kBlocks,
    blobSize,
    packedBytes: N * kBlocks * blobSize,
    scaleCount: N * kBlocks,
    zeroPointBytesPerRow: Math.ceil((kBlocks * bits) / 8),
  };
}

const roundToF16 = (v: number) => f16ToF32(f32ToF16(v));

/**
 * Quantizes a Linear weight `[N, K]` (out, in) in blocks of `blockSize` along K. Per block:
 * - symmetric: m = the element of largest magnitude (the minimum on a tie), scale = -m / 2^(bits-1),
 *   zero point 2^(bits-1) (left to the op's default);
 * - with zero points: lo = min(min, 0), hi = max(max, 0), scale = (hi - lo) / (2^bits - 1),
 *   zp = roundf(-lo / scale) clamped to the range;
 * q = clamp(roundf(v · float32(1/scale) + zp)), all in float32 arithmetic; a zero scale gives q = zp.
 * Throws a typed error on NaN or ±Inf.
 */
export function quantizeBlockwise(
  weight: Float32Array,
  shape: Shape2D,
  options: BlockwiseOptions,
): BlockQuantized {
  const what = 'quantizeBlockwise';
  const [N, K] = checkMatrix(what, weight, shape);
  const { bits, blockSize, symmetric } = options;
  checkBits(what, bits);
  checkBlockSize(what, blockSize);
  const f16 = options.scaleDtype === 'float16';
  const L = blockwiseLayout(N, K, bits, blockSize);
  const packed = new Uint8Array(L.packedBytes);
  // 8-bit codes go through a clamped view: it saturates to [0, 255] on store.
  const packed8 = bits === 8 ? new Uint8ClampedArray(packed.buffer) : undefined;
  const scales = new Float32Array(L.scaleCount);
  const zeroPoints = symmetric ? undefined : new Uint8Array(N * L.zeroPointBytesPerRow);
  const qmax = (1 << bits) - 1;
  const mid = 1 << (bits - 1);
  const fr = Math.fround;

  for (let n = 0; n < N; n++) {
    const row = n * K;
    for (let b = 0; b < L.kBlocks; b++) {
      const k0 = b * blockSize;
      const k1 = Math.min(K, k0 + blockSize);
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      let poison = 0; // v·0 is NaN for NaN and ±Inf, 0 otherwise
      for (let k = row + k0; k < row + k1; k++) {
        const v = weight[k]!;
        if (v < min) min = v;
        if (v > max) max = v;
        poison += v * 0;
      }
      if (Number.isNaN(poison)) {
        for (let k = k0; k < k1; k++)
          if (!Number.isFinite(weight[row + k]!)) throw nonFinite(what, weight[row + k]!, n, k);
      }
      let scale: number;
      let zp: number;
      if (symmetric) {
        const m = Math.abs(max) > Math.abs(min) ? max : min;
        scale = fr(-m / mid);
        if (f16) scale = roundToF16(scale);
        zp = mid;
      } else {
        const lo = Math.min(min, 0);
        const hi = Math.max(max, 0);
        const s32 = fr(fr(hi - lo) / qmax);
        const zf = s32 !== 0 ? fr(0 - fr(lo / s32)) : lo;
        zp = zf < 0 ? 0 : zf > qmax ? qmax : Math.round(zf);
        scale = f16 ? roundToF16(s32) : s32;
        const zi = n * L.zeroPointBytesPerRow;
        if (bits === 8) zeroPoints![zi + b] = zp;
        else zeroPoints![zi + (b >> 1)]! |= b & 1 ? zp << 4 : zp;
        // An odd count of 4-bit blocks leaves the high nibble of the row's last byte unused: onnxruntime
        // 1.30 writes the default zero point (8) there.
        if (bits === 4 && b === L.kBlocks - 1 && (b & 1) === 0) zeroPoints![zi + (b >> 1)]! |= mid << 4;
      }
      scales[n * L.kBlocks + b] = scale;
      const recip = scale !== 0 ? fr(1 / scale) : 0;
      const out = (n * L.kBlocks + b) * L.blobSize;
      if (bits === 8) put8(packed8!, out, weight, row + k0, k1 - k0, recip, zp);
      else put4(packed, out, weight, row + k0, k1 - k0, recip, zp);
    }
  }
  return {
    N,
    K,
    bits,
    blockSize,
    kBlocks: L.kBlocks,
    blobSize: L.blobSize,
    packed,
    scales,
    ...(zeroPoints ? { zeroPoints } : {}),
  };
}

// q = clamp(roundf(t)) for t = fround(fround(v · recip) + zp). t is a float32, so t + 0.5 is exact in
// float64 and (t + 0.5) | 0 equals roundf(t) wherever the clamp does not decide (t > -0.5). Kept apart per
// bit width so each loop stays monomorphic.
function put8(
  dst: Uint8ClampedArray,
  out: number,
  w: Float32Array,
  base: number,
  len: number,
  recip: number,
  zp: number,
): void {
  const fr = Math.fround;
  for (let i = 0; i < len; i++) dst[out + i] = (fr(fr(w[base + i]! * recip) + zp) + 0.5) | 0;
}

function put4(
  dst: Uint8Array,
  out: number,
  w: Float32Array,
  base: number,
  len: number,
  recip: number,
  zp: number,
): void {
  const fr = Math.fround;
  let i = 0;
  for (; i + 1 < len; i += 2) {
    const q0 = (fr(fr(w[base + i]! * recip) + zp) + 0.5) | 0;
    const q1 = (fr(fr(w[base + i + 1]! * recip) + zp) + 0.5) | 0;
    dst[out + (i >> 1)] = Math.max(0, Math.min(15, q0)) | (Math.max(0, Math.min(15, q1)) << 4);
  }
  if (i < len) dst[out + (i >> 1)] = Math.max(0, Math.min(15, (fr(fr(w[base + i]! * recip) + zp) + 0.5) | 0));
}

/** The zero point of block b of row n (the op's default when there are none). */
export function blockZeroPoint(q: BlockQuantized, n: number, b: number): number {
  if (!q.zeroPoints) return 1 << (q.bits - 1);
  const per = Math.ceil((q.kBlocks * q.bits) / 8);
  if (q.bits === 8) return q.zeroPoints[n * per + b]!;
  const byte = q.zeroPoints[n * per + (b >> 1)]!;
  return b & 1 ? byte >> 4 : byte & 15;
}

/** (q - zp) · scale for every element, as MatMulNBits dequantizes B: the [N, K] weight it multiplies. */
export function dequantizeBlockwise(q: BlockQuantized): Float32Array {
  const { N, K, bits, blockSize, kBlocks, blobSize } = q;
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++)
    for (let b = 0; b < kBlocks; b++) {
      const scale = q.scales[n * kBlocks + b]!;
      const zp = blockZeroPoint(q, n, b);
      const at = (n * kBlocks + b) * blobSize;
      const k0 = b * blockSize;
      const k1 = Math.min(K, k0 + blockSize);
      for (let k = k0; k < k1; k++) {
        const i = k - k0;
        const v = bits === 8 ? q.packed[at + i]! : (q.packed[at + (i >> 1)]! >> ((i & 1) * 4)) & 15;
        out[n * K + k] = Math.fround((v - zp) * scale);
      }
    }
  return out;
}
