import { isPaliError } from '@pali/errors';
import { f16ToF32, f32ToF16 } from '@pali/onnx';
import { describe, expect, it } from 'vitest';
import { rand } from '../test/helpers/ort.js';
import { blockwiseLayout, blockZeroPoint, dequantizeBlockwise, quantizeBlockwise } from './blockwise.js';

// Adversarial rows: all zero, all equal, one outlier, a ± tie, tiny values, huge values.
function adversarial(K: number): Float32Array {
  const rows = [
    new Float32Array(K),
    new Float32Array(K).fill(0.3),
    new Float32Array(K).fill(-2.5),
    Float32Array.from(rand(K, 5, 0.01), (v, i) => (i === 3 ? 50 : v)),
    Float32Array.from(rand(K, 6), (v, i) => (i === 0 ? 1 : i === 1 ? -1 : v * 0.9)),
    rand(K, 7, 1e-30),
    rand(K, 8, 1e30),
  ];
  const out = new Float32Array(rows.length * K);
  for (const [i, r] of rows.entries()) out.set(r, i * K);
  return out;
}

/**
 * The theoretical bound per element: half a step (|scale|/2) inside the grid; a symmetric block's
 * largest-magnitude sign maps exactly to -2^(bits-1), so the opposite sign can reach +2^(bits-1), one
 * step past the top code, 2^(bits-1)-1: there the error is at most one step.
 */
function checkBound(
  w: Float32Array,
  N: number,
  K: number,
  bits: 4 | 8,
  blockSize: number,
  symmetric: boolean,
) {
  const q = quantizeBlockwise(w, [N, K], { bits, blockSize, symmetric });
  const d = dequantizeBlockwise(q);
  const half = 1 << (bits - 1);
  let worst = 0;
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / blockSize);
      const s = Math.abs(q.scales[n * q.kBlocks + b]!);
      const v = w[n * K + k]!;
      const err = Math.abs(v - d[n * K + k]!);
      // The top of a symmetric grid: values beyond (half - 0.5) steps on the far side of the extreme.
      const beyond =
        symmetric &&
        s > 0 &&
        Math.abs(v) / s > half - 0.5 &&
        Math.sign(v) !== Math.sign(-q.scales[n * q.kBlocks + b]!);
      // Plus float32 rounding: of v · (1/scale) (2^bits steps · 2^-23) and of the product (|v| · 2^-24).
      const bound = (beyond ? s : s / 2) + s * 2 ** (bits - 22) + Math.abs(v) * 2 ** -23;
      expect(err, `row ${n} col ${k} v=${v}`).toBeLessThanOrEqual(bound);
      worst = Math.max(worst, s > 0 ? err / s : 0);
    }
  return worst;
}

describe('quantizeBlockwise', () => {
  for (const bits of [4, 8] as const)
    for (const symmetric of [true, false])
      for (const blockSize of [32, 64, 128])
        it(`round trip within the bound: ${bits}-bit, block ${blockSize}, ${symmetric ? 'symmetric' : 'zero points'}`, () => {
          // K = 200 is a multiple of none of the block sizes: the last block of each row is padded.
          const K = 200;
          const random = rand(9 * K, bits * blockSize + (symmetric ? 1 : 0), 3);
          const worst = checkBound(random, 9, K, bits, blockSize, symmetric);
          expect(worst).toBeGreaterThan(0.3); // the bound is nearly reached: it is not slack
          checkBound(adversarial(K), 7, K, bits, blockSize, symmetric);
        });

  it('represents zeros, constant blocks and the extreme of each block exactly', () => {
    const K = 64;
    const w = adversarial(K);
    for (const symmetric of [true, false]) {
      const q = quantizeBlockwise(w, [7, K], { bits: 4, blockSize: 32, symmetric });
      const d = dequantizeBlockwise(q);
      expect(d.subarray(0, K).every((v) => v === 0)).toBe(true);
      // The zero block: scale 0 (symmetric: -0, as onnxruntime writes -0/8) and every code at the zero point.
      expect(Math.abs(q.scales[0]!)).toBe(0);
      for (let i = 0; i < q.blobSize; i++) expect(q.packed[i]).toBe(symmetric ? 0x88 : 0);
      // A constant negative row (-2.5): symmetric maps it to code 0 exactly.
      if (symmetric) expect(Array.from(d.subarray(2 * K, 3 * K))).toEqual(new Array(K).fill(-2.5));
      // The outlier survives exactly (it sets the scale) in the symmetric grid.
      if (symmetric) expect(d[3 * K + 3]).toBe(50);
    }
  });

  it('packs element 2i in the low nibble, blocks in row order, zero points two per byte', () => {
    // Row 0: 0, 1, ..., 7 then -8 (block 0 of 16), so with scale 1 the codes are v + 8.
    const K = 32;
    const w = new Float32Array(2 * K);
    for (let k = 0; k < 16; k++) w[k] = k < 8 ? k : -8;
    for (let k = 16; k < 32; k++) w[k] = -16; // block 1: scale 2, code 0
    w.set(w.subarray(0, K), K);
    const q = quantizeBlockwise(w, [2, K], { bits: 4, blockSize: 16, symmetric: true });
    expect(Array.from(q.scales)).toEqual([1, 2, 1, 2]);
    expect(q.packed[0]).toBe(8 | (9 << 4));
    expect(q.packed[3]).toBe(14 | (15 << 4));
    expect(q.packed[4]).toBe(0);
    expect(q.packed[8]).toBe(0); // block 1 of row 0: all -16 → code 0
    expect(q.packed.subarray(16, 32)).toEqual(q.packed.subarray(0, 16));
    const z = quantizeBlockwise(w, [2, K], { bits: 4, blockSize: 16, symmetric: false });
    expect(z.zeroPoints).toHaveLength(2);
    expect(z.zeroPoints![0]).toBe(blockZeroPoint(z, 0, 0) | (blockZeroPoint(z, 0, 1) << 4));
    expect(blockZeroPoint(z, 0, 1)).toBe(15); // an all-negative block puts 0 at the top
  });

  it('rounds half away from zero (C roundf), as onnxruntime does', () => {
    // Block with m = -8 → scale 1, zero point 8: 2.5 → 10.5 → 11 (half-to-even would give 10).
    const w = new Float32Array(16).fill(0);
    w[0] = -8;
    w[1] = 2.5;
    w[2] = 3.5;
    const q = quantizeBlockwise(w, [1, 16], { bits: 4, blockSize: 16, symmetric: true });
    expect(q.packed[0]! >> 4).toBe(11);
    expect(q.packed[1]! & 15).toBe(12);
  });

  it('float16 scales: stored float16-exact, codes computed with the rounded scale', () => {
    const K = 64;
    const w = rand(4 * K, 21, 2);
    const q = quantizeBlockwise(w, [4, K], {
      bits: 4,
      blockSize: 32,
      symmetric: true,
      scaleDtype: 'float16',
    });
    for (const s of q.scales) expect(f16ToF32(f32ToF16(s))).toBe(s);
    checkBound(w, 4, K, 4, 32, true);
  });

  it('has the layout MatMulNBits expects', () => {
    expect(blockwiseLayout(3, 100, 4, 32)).toEqual({
      kBlocks: 4,
      blobSize: 16,
      packedBytes: 3 * 4 * 16,
      scaleCount: 12,
      zeroPointBytesPerRow: 2,
    });
    expect(blockwiseLayout(3, 100, 8, 64).zeroPointBytesPerRow).toBe(2);
    expect(blockwiseLayout(3, 96, 4, 32).zeroPointBytesPerRow).toBe(2);
  });

  it('rejects NaN and ±Inf with a typed error that says where', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const w = rand(4 * 40, 3);
      w[2 * 40 + 37] = bad;
      let err: unknown;
      try {
        quantizeBlockwise(w, [4, 40], { bits: 4, blockSize: 32, symmetric: true });
      } catch (e) {
        err = e;
      }
      expect(isPaliError(err, 'INVALID_ARGUMENT')).toBe(true);
      expect((err as Error).message).toContain(`[2, 37] is ${bad}`);
    }
  });

  it('rejects bad shapes, bits and block sizes', () => {
    const w = rand(64, 1);
    expect(() => quantizeBlockwise(w, [2, 31], { bits: 4, blockSize: 32, symmetric: true })).toThrow(
      /do not fill the shape/,
    );
    expect(() => quantizeBlockwise(w, [2, 32], { bits: 3 as 4, blockSize: 32, symmetric: true })).toThrow(
      /bits must be 4 or 8/,
    );
    expect(() => quantizeBlockwise(w, [2, 32], { bits: 4, blockSize: 48, symmetric: true })).toThrow(
      /not a power of two/,
    );
  });
});
