import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { MASK_DECODER_IO } from './decoder-graph.js';
import { CODEBOOK_SIZE, CODES_PER_MASK, MASK_SIDE } from './weights.js';

/** The runtime's Tensor class (onnxruntime-node's or onnxruntime-web's), injected by an adapter. */
export type Int64TensorConstructor = new (
  type: 'int64',
  data: BigInt64Array,
  dims: readonly number[],
) => Tensor;

/** Runs a mask decoder session: 16 codes per object → 64×64 logits (in about [-1, 1] for the real VAE). */
export class MaskDecoder {
  constructor(
    private readonly session: InferenceSession,
    private readonly TensorClass: Int64TensorConstructor,
  ) {
    if (
      !session.inputNames.includes(MASK_DECODER_IO.input) ||
      !session.outputNames.includes(MASK_DECODER_IO.output)
    ) {
      throw new PaliError(
        ERROR_CODES.CORRUPT_FILE,
        `The mask decoder takes [${session.inputNames.join(', ')}] and gives [${session.outputNames.join(', ')}], expected ${MASK_DECODER_IO.input} → ${MASK_DECODER_IO.output}`,
        { hint: 'Build it with buildMaskDecoderGraph / prepareMaskDecoder from vae-oid.npz' },
      );
    }
  }

  /** One Float32Array of 64×64 row-major logits per code set (16 codes, each 0..127). */
  async decode(codeSets: readonly (readonly number[])[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (codeSets.length === 0) return [];
    const data = new BigInt64Array(codeSets.length * CODES_PER_MASK);
    codeSets.forEach((codes, i) => {
      if (codes.length !== CODES_PER_MASK)
        throw new PaliError(
          ERROR_CODES.INVALID_ARGUMENT,
          `Mask ${i} has ${codes.length} codes, expected 16`,
          {
            hint: 'Pass the 16 <segNNN> values of each object',
          },
        );
      codes.forEach((c, j) => {
        if (!Number.isInteger(c) || c < 0 || c >= CODEBOOK_SIZE)
          throw new PaliError(
            ERROR_CODES.INVALID_ARGUMENT,
            `Mask ${i} has code ${c} at ${j}, expected 0..127`,
            {
              hint: 'Codes are the numbers of <seg000>..<seg127> tokens',
            },
          );
        data[i * CODES_PER_MASK + j] = BigInt(c);
      });
    });
    throwIfAborted(signal, 'mask decoding');
    const input = new this.TensorClass('int64', data, [codeSets.length, CODES_PER_MASK]);
    const outputs = await this.session.run({ [MASK_DECODER_IO.input]: input }, [MASK_DECODER_IO.output]);
    const out = outputs[MASK_DECODER_IO.output]!;
    try {
      const size = MASK_SIDE * MASK_SIDE;
      const dims = out.dims as readonly number[];
      if (
        out.type !== 'float32' ||
        dims.length !== 3 ||
        dims[0] !== codeSets.length ||
        dims[1] !== MASK_SIDE ||
        dims[2] !== MASK_SIDE
      ) {
        throw new PaliError(ERROR_CODES.CORRUPT_FILE, `Mask logits are ${out.type}[${dims.join(', ')}]`, {
          hint: `Expected float32 [${codeSets.length}, 64, 64]; rebuild the decoder with prepareMaskDecoder`,
        });
      }
      const all = out.data as Float32Array;
      // Copies, so the runtime's buffer can be released now.
      return codeSets.map((_, i) => all.slice(i * size, (i + 1) * size));
    } finally {
      out.dispose();
    }
  }
}
