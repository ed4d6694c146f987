import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { VISION_IO } from './vision-graph.js';

/** The runtime's Tensor class (onnxruntime-node's or onnxruntime-web's), injected by an adapter. */
export type TensorConstructor = new (type: 'float32', data: Float32Array, dims: readonly number[]) => Tensor;

export interface ImageFeatures {
  /** [batch, numImageTokens, hidden], row-major. */
  data: Float32Array;
  dims: [number, number, number];
}

/** Runs a vision_encoder session: pixel_values [batch, 3, S, S] → image_features [batch, N, H]. */
export class VisionEncoder {
  constructor(
    private readonly session: InferenceSession,
    private readonly TensorClass: TensorConstructor,
    private readonly imageSize: number,
  ) {
    if (!session.inputNames.includes(VISION_IO.input) || !session.outputNames.includes(VISION_IO.output)) {
      throw new PaliError(
        ERROR_CODES.CORRUPT_FILE,
        `The vision encoder takes [${session.inputNames.join(', ')}] and gives [${session.outputNames.join(', ')}], expected ${VISION_IO.input} → ${VISION_IO.output}`,
        { hint: 'Use a model folder in the onnx-community layout (onnx/vision_encoder*.onnx)' },
      );
    }
  }

  async encode(pixelValues: Float32Array, batch: number, signal?: AbortSignal): Promise<ImageFeatures> {
    const s = this.imageSize;
    if (pixelValues.length !== batch * 3 * s * s) {
      throw new PaliError(
        ERROR_CODES.SHAPE_MISMATCH,
        `pixel_values has ${pixelValues.length} values; ${batch} image(s) at ${s}×${s} need ${batch * 3 * s * s}`,
      );
    }
    throwIfAborted(signal, 'image encoding');
    const input = new this.TensorClass('float32', pixelValues, [batch, 3, s, s]);
    const outputs = await this.session.run({ [VISION_IO.input]: input }, [VISION_IO.output]);
    const out = outputs[VISION_IO.output]!;
    try {
      const [b, n, h] = out.dims as number[];
      if (out.type !== 'float32' || b === undefined || n === undefined || h === undefined) {
        throw new PaliError(
          ERROR_CODES.CORRUPT_FILE,
          `image_features is ${out.type}[${out.dims.join(', ')}]`,
          {
            hint: 'Expected float32 [batch, tokens, hidden]',
          },
        );
      }
      // Copy out so the runtime's buffer can be released now.
      return { data: Float32Array.from(out.data as Float32Array), dims: [b, n, h] };
    } finally {
      out.dispose();
    }
  }
}
