// Bytes a weight takes in each format, for size estimates before a conversion (and the quant report).
import { blockwiseLayout } from './blockwise.js';
import type { WeightFormat } from './formats.js';

/** Bytes of the initializers `linear()` (or a tied embedding) declares for an [N, K] weight. */
export function weightBytes(format: WeightFormat, N: number, K: number): number {
  switch (format.kind) {
    case 'float32':
      return N * K * 4;
    case 'float16':
      return N * K * 2;
    case 'blockwise': {
      const L = blockwiseLayout(N, K, format.bits, format.blockSize);
      const zp = format.symmetric ? 0 : N * L.zeroPointBytesPerRow;
      return L.packedBytes + L.scaleCount * (format.float16 ? 2 : 4) + zp;
    }
    case 'int8':
      return N * K + N * 4 + (format.symmetric === false ? N : 0);
    case 'nf4':
      return Math.ceil((N * K) / 2) + Math.ceil((N * K) / format.blockSize) * 4;
  }
}
