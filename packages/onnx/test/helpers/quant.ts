// Block quantization for the tests of MatMulNBits and GatherBlockQuantized (the real quantizer lives in
// @pali/quantize; this is the plain definition: q = round(w / scale) + zp, w' = (q - zp) · scale).

export interface Quantized {
  /** [rows, kBlocks, blockSize·bits/8] packed, low nibble first for 4 bits. */
  packed: Uint8Array;
  scales: Float32Array;
  /** Per block zero point (unpacked). */
  zp: Uint8Array;
  /** Dequantized weights [rows, K]. */
  deq: Float32Array;
}

export function quantizeRows(
  w: Float32Array,
  rows: number,
  K: number,
  block: number,
  bits: 4 | 8,
  asymmetric: boolean,
): Quantized {
  const kBlocks = Math.ceil(K / block);
  const qmax = (1 << bits) - 1;
  const mid = 1 << (bits - 1);
  const blob = (block * bits) / 8;
  const packed = new Uint8Array(rows * kBlocks * blob);
  const scales = new Float32Array(rows * kBlocks);
  const zps = new Uint8Array(rows * kBlocks);
  const deq = new Float32Array(rows * K);
  for (let r = 0; r < rows; r++)
    for (let b = 0; b < kBlocks; b++) {
      const vals: number[] = [];
      for (let i = 0; i < block; i++) vals.push(b * block + i < K ? w[r * K + b * block + i]! : 0);
      let scale: number;
      let zp: number;
      if (asymmetric) {
        const lo = Math.min(0, ...vals);
        const hi = Math.max(0, ...vals);
        scale = Math.fround((hi - lo) / qmax) || 1;
        zp = Math.min(qmax, Math.max(0, Math.round(-lo / scale)));
      } else {
        scale = Math.fround(Math.max(...vals.map(Math.abs)) / (mid - 1)) || 1;
        zp = mid;
      }
      scales[r * kBlocks + b] = scale;
      zps[r * kBlocks + b] = zp;
      vals.forEach((v, i) => {
        const q = Math.min(qmax, Math.max(0, Math.round(v / scale) + zp));
        const at = (r * kBlocks + b) * blob;
        if (bits === 8) packed[at + i] = q;
        else packed[at + (i >> 1)]! |= i & 1 ? q << 4 : q;
        if (b * block + i < K) deq[r * K + b * block + i] = Math.fround((q - zp) * scale);
      });
    }
  return { packed, scales, zp: zps, deq };
}

/** Zero points packed for MatMulNBits 4-bit: per row ceil(kBlocks/2) bytes, low nibble first. */
export function packZeroPoints4(zp: Uint8Array, rows: number, kBlocks: number): Uint8Array {
  const per = Math.ceil(kBlocks / 2);
  const out = new Uint8Array(rows * per);
  for (let r = 0; r < rows; r++)
    for (let b = 0; b < kBlocks; b++)
      out[r * per + (b >> 1)]! |= b & 1 ? zp[r * kBlocks + b]! << 4 : zp[r * kBlocks + b]!;
  return out;
}
