import { ERROR_CODES, PaliError } from '@pali/errors';
import { add, type GraphBuilder, matMul, type Value } from '@pali/onnx';
import type { WeightProvider } from './checkpoint.js';

/** Transposes a row-major [rows, cols] matrix (a Linear's [out, in] weight into MatMul's [in, out]). */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  // Blocked so both sides stay in cache for the large (9216 × 2304) matrices.
  const block = 64;
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(rows, r0 + block);
    for (let c0 = 0; c0 < cols; c0 += block) {
      const c1 = Math.min(cols, c0 + block);
      for (let r = r0; r < r1; r++) {
        const src = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = data[src + c]!;
      }
    }
  }
  return out;
}

/**
 * Declares checkpoint tensors in a graph as lazy float32 initializers, after checking each shape
 * against what config.json implies, so a mismatched checkpoint fails before anything is written.
 */
export class GraphWeights {
  constructor(
    readonly g: GraphBuilder,
    readonly source: WeightProvider,
  ) {}

  checkShape(name: string, expected: readonly number[]): void {
    const actual = this.source.shape(name);
    if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
      throw new PaliError(
        ERROR_CODES.SHAPE_MISMATCH,
        `Checkpoint tensor ${name} has shape [${actual.join(', ')}], config.json implies [${expected.join(', ')}]`,
        { hint: 'The weights do not belong to this config.json', details: { tensor: name } },
      );
    }
  }

  /** A tensor as stored, optionally transformed (element-wise, same shape) when written. */
  tensor(name: string, dims: readonly number[], transform?: (data: Float32Array) => Float32Array): Value {
    this.checkShape(name, dims);
    return this.g.lazyInitializer(name, 'float32', dims, async () => {
      const data = await this.source.read(name);
      return transform ? transform(data) : data;
    });
  }

  /** x · Wᵀ (+ b) for a Linear stored [out, in]; the weight is transposed once, at write time. */
  linear(x: Value, prefix: string, inFeatures: number, outFeatures: number, withBias: boolean): Value {
    const name = `${prefix}.weight`;
    this.checkShape(name, [outFeatures, inFeatures]);
    const weight = this.g.lazyInitializer(`${name}.T`, 'float32', [inFeatures, outFeatures], async () =>
      transpose2d(await this.source.read(name), outFeatures, inFeatures),
    );
    const y = matMul(x, weight);
    return withBias ? add(y, this.tensor(`${prefix}.bias`, [outFeatures])) : y;
  }
}
