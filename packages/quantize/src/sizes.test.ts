import { GraphBuilder } from '@pali/onnx';
import { describe, expect, it } from 'vitest';
import { linearFormat, MODEL_DTYPES, type ModelDType } from './formats.js';
import { linear } from './linear.js';
import { weightBytes } from './sizes.js';

describe('weightBytes', () => {
  it('equals the bytes of the initializers linear() declares, for every model dtype', () => {
    for (const dtype of Object.keys(MODEL_DTYPES) as ModelDType[])
      for (const [N, K] of [
        [24, 200],
        [7, 96],
      ] as const) {
        const g = new GraphBuilder();
        const f = linearFormat(dtype);
        linear(g.input('x', 'float32', [1, K]), 'w', () => new Float32Array(N * K), { N, K }, f);
        expect(weightBytes(f, N, K), `${dtype} ${N}×${K}`).toBe(
          g.initializers.reduce((s, r) => s + r.byteLength, 0),
        );
      }
    expect(weightBytes({ kind: 'blockwise', bits: 4, blockSize: 32, symmetric: false }, 2, 96)).toBe(
      2 * 3 * 16 + 2 * 3 * 4 + 2 * 2,
    );
  });
});
