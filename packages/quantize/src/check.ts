// Argument checks shared by the quantizers: typed errors that say what to do.
import { ERROR_CODES, PaliError } from '@pali/errors';

export type Shape2D = readonly [rows: number, cols: number];

/** Checks a 2-D shape against the data length. */
export function checkMatrix(what: string, data: ArrayLike<number>, shape: Shape2D): [number, number] {
  const [rows, cols] = shape;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0)
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${what}: shape [${rows}, ${cols}] is not a matrix`, {
      hint: 'Pass [rows, cols] as positive integers',
    });
  if (data.length !== rows * cols)
    throw new PaliError(
      ERROR_CODES.SHAPE_MISMATCH,
      `${what}: ${data.length} values do not fill the shape [${rows}, ${cols}]`,
      { hint: 'Pass the weight with the shape it was read with (Linear weights are [out, in])' },
    );
  return [rows, cols];
}

export function checkBlockSize(what: string, blockSize: number, min = 16): void {
  if (!Number.isInteger(blockSize) || blockSize < min || (blockSize & (blockSize - 1)) !== 0)
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `${what}: block size ${blockSize} is not a power of two ≥ ${min}`,
      {
        hint: 'Use 32, 64 or 128',
      },
    );
}

export function checkBits(what: string, bits: number): asserts bits is 4 | 8 {
  if (bits !== 4 && bits !== 8)
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${what}: bits must be 4 or 8, got ${bits}`, {
      hint: 'Use 4 (q4) or 8 (q8)',
    });
}

/** A NaN or ±Inf weight cannot be quantized: say where it is, so the checkpoint can be checked. */
export function nonFinite(what: string, value: number, row: number, col: number): PaliError {
  return new PaliError(
    ERROR_CODES.INVALID_ARGUMENT,
    `${what}: the weight at [${row}, ${col}] is ${value}, which cannot be quantized`,
    {
      hint: 'The checkpoint holds a non-finite weight: re-download it or keep this tensor unquantized',
      details: { row, col, value: String(value) },
    },
  );
}
