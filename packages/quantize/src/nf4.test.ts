import { describe, expect, it } from 'vitest';
import { rand } from '../test/helpers/ort.js';
import { dequantizeNf4, NF4_CODE, nf4Code, quantizeNf4 } from './nf4.js';

describe('NF4', () => {
  it('maps each code value to itself and picks the nearest code', () => {
    for (let i = 0; i < 16; i++) expect(nf4Code(NF4_CODE[i]!)).toBe(i);
    for (const x of rand(2000, 41)) {
      const q = nf4Code(Math.fround(x));
      const d = Math.abs(x - NF4_CODE[q]!);
      for (const c of NF4_CODE) expect(d).toBeLessThanOrEqual(Math.abs(x - c) + 1e-7);
    }
  });

  it('round trip: each value at its nearest code times the block absmax, blocks over the flat weight', () => {
    const N = 5;
    const K = 90; // 450 values: blocks of 64 span rows, the last one is short
    const w = rand(N * K, 42, 3);
    w.fill(0, 64, 128); // a zero block
    const q = quantizeNf4(w, [N, K], { blockSize: 64 });
    expect(q.absmax).toHaveLength(Math.ceil(450 / 64));
    expect(q.absmax[1]).toBe(0);
    const d = dequantizeNf4(q);
    for (let i = 0; i < N * K; i++) {
      const m = q.absmax[Math.floor(i / 64)]!;
      // The widest gap between neighbouring codes is 1 - 0.696 = 0.304: at most half of it.
      expect(Math.abs(d[i]! - w[i]!)).toBeLessThanOrEqual(0.152 * m + 1e-6);
    }
    // Element 0 in the high nibble.
    expect(q.packed[0]! >> 4).toBe(nf4Code(Math.fround(w[0]! / q.absmax[0]!)));
  });

  it('rejects non-finite weights', () => {
    const w = rand(64, 1);
    w[63] = Number.POSITIVE_INFINITY;
    expect(() => quantizeNf4(w, [2, 32], { blockSize: 32 })).toThrow(/\[1, 31\] is Infinity/);
  });
});
