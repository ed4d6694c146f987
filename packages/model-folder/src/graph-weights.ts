import { ERROR_CODES, PaliError } from '@pali/errors';
import type { GraphBuilder, Value } from '@pali/onnx';
import type { WeightProvider } from './checkpoint.js';

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
}
