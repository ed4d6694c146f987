import { isPaliError } from '@pali/errors';
import { describe, expect, it } from 'vitest';
import { rand } from '../test/helpers/ort.js';
import { dequantizePerChannel, quantizePerChannel, roundHalfEven } from './per-channel.js';

describe('quantizePerChannel', () => {
  it('rounds half to even, as numpy does', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6].map(roundHalfEven)).toEqual([
      0, 2, 2, -0, -2, -2, 2, 3,
    ]);
  });

  for (const symmetric of [true, false])
    it(`round trip within half a step per channel (${symmetric ? 'int8' : 'uint8 + zero point'})`, () => {
      const N = 12;
      const K = 100;
      const w = rand(N * K, 31, 2);
      w.fill(0, 0, K); // a zero channel: scale 1, as onnxruntime
      w.fill(-0.25, K, 2 * K);
      const q = quantizePerChannel(w, [N, K], { symmetric });
      expect(q.b).toBeInstanceOf(symmetric ? Int8Array : Uint8Array);
      expect(q.scales[0]).toBe(1);
      const d = dequantizePerChannel(q);
      for (let n = 0; n < N; n++)
        for (let k = 0; k < K; k++)
          expect(Math.abs(d[n * K + k]! - w[n * K + k]!)).toBeLessThanOrEqual(q.scales[n]! / 2 + 1e-7);
      // B is [K, N]: column n is channel n.
      expect(q.b[1 * N + 1]).toBe(symmetric ? -127 : 0);
    });

  it('rejects non-finite weights with a typed error', () => {
    const w = rand(8, 1);
    w[5] = Number.NaN;
    expect(() => quantizePerChannel(w, [2, 4])).toThrow(/\[1, 1\] is NaN/);
    try {
      quantizePerChannel(w, [2, 4]);
    } catch (e) {
      expect(isPaliError(e, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});
