// How a weight is stored in the graph, and the model-level dtypes (onnx-community file suffixes) that
// choose one per component.
import { ERROR_CODES, PaliError } from '@pali/errors';
import { checkBlockSize } from './check.js';

export type AccuracyLevel = 0 | 1 | 2 | 3 | 4;

/** A weight's storage and the op that multiplies by it. */
export type WeightFormat =
  /** MatMul with a float32 [K, N] initializer. */
  | { kind: 'float32' }
  /** MatMul in float16 with a float16 [K, N] initializer; Casts keep the value around it in its dtype. */
  | { kind: 'float16' }
  /** MatMulNBits (int4 / int8 blocks along K); with float16 scales the op computes in float16. */
  | {
      kind: 'blockwise';
      bits: 4 | 8;
      blockSize: number;
      symmetric: boolean;
      /** 4 (int8 compute, default) is ~2× faster than 0 on x86 CPUs; wasm ignores it. */
      accuracyLevel?: AccuracyLevel;
      float16?: boolean;
    }
  /** DynamicQuantizeMatMul: int8 (symmetric) or uint8 (zero points) per output channel. */
  | { kind: 'int8'; symmetric?: boolean }
  /** MatMulBnb4 with NF4 codes, absmax per block of the flattened weight. */
  | { kind: 'nf4'; blockSize: number };

/** Formats a tied embedding can take: one table serves the gather and the output head. */
export type EmbeddingFormat = Extract<WeightFormat, { kind: 'float32' | 'float16' | 'blockwise' }>;

/** Model dtypes and the onnx-community / transformers.js file suffix of each (REFERENCE.md §9). */
export const MODEL_DTYPES = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
} as const;
export type ModelDType = keyof typeof MODEL_DTYPES;

export function isModelDType(s: string): s is ModelDType {
  return Object.hasOwn(MODEL_DTYPES, s);
}

function checkDType(dtype: string): asserts dtype is ModelDType {
  if (!isModelDType(dtype))
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `Unknown dtype "${dtype}"`, {
      hint: `Use one of ${Object.keys(MODEL_DTYPES).join(', ')}`,
    });
}

/**
 * The format of the Linear weights (attention, MLP, projector) for a model dtype. q4 is symmetric int4
 * in blocks of 32 with accuracy_level 4, the layout of the onnx-community q4 files; q8/int8 are
 * onnxruntime's dynamic int8 quantization (DynamicQuantizeMatMul), uint8 its zero-point variant.
 */
export function linearFormat(dtype: ModelDType | string): WeightFormat {
  checkDType(dtype);
  switch (dtype) {
    case 'fp32':
      return { kind: 'float32' };
    case 'fp16':
      return { kind: 'float16' };
    case 'q8':
    case 'int8':
      return { kind: 'int8', symmetric: true };
    case 'uint8':
      return { kind: 'int8', symmetric: false };
    case 'q4':
      return { kind: 'blockwise', bits: 4, blockSize: 32, symmetric: true, accuracyLevel: 4 };
    case 'q4f16':
      return { kind: 'blockwise', bits: 4, blockSize: 32, symmetric: true, accuracyLevel: 4, float16: true };
    case 'bnb4':
      return { kind: 'nf4', blockSize: 64 };
  }
}

/**
 * The format of the tied embedding for a model dtype. DynamicQuantizeMatMul and MatMulBnb4 layouts have
 * no gather op, so q8/int8/uint8 use int8 blocks and bnb4 uses int4 blocks (GatherBlockQuantized +
 * MatMulNBits share one table).
 */
export function embeddingFormat(dtype: ModelDType | string): EmbeddingFormat {
  checkDType(dtype);
  switch (dtype) {
    case 'fp32':
      return { kind: 'float32' };
    case 'fp16':
      return { kind: 'float16' };
    case 'q8':
    case 'int8':
      return { kind: 'blockwise', bits: 8, blockSize: 32, symmetric: true, accuracyLevel: 4 };
    case 'uint8':
      return { kind: 'blockwise', bits: 8, blockSize: 32, symmetric: false, accuracyLevel: 4 };
    case 'q4':
    case 'bnb4':
      return { kind: 'blockwise', bits: 4, blockSize: 32, symmetric: true, accuracyLevel: 4 };
    case 'q4f16':
      return { kind: 'blockwise', bits: 4, blockSize: 32, symmetric: true, accuracyLevel: 4, float16: true };
  }
}

/**
 * `format` with another block size when it is blockwise (q4, q4f16, and the int8/int4 block tables):
 * larger blocks store fewer scales and run MatMulNBits faster on CPU, at some accuracy
 * (docs/quantization.md). Other formats are returned as they are; undefined keeps the default (32).
 */
export function withBlockSize<F extends WeightFormat>(format: F, blockSize: number | undefined): F {
  if (blockSize === undefined || format.kind !== 'blockwise') return format;
  checkBlockSize('block size', blockSize);
  return { ...format, blockSize };
}

/** The dtype the op computes in (its A input and output). */
export function computeDType(format: WeightFormat): 'float32' | 'float16' {
  return format.kind === 'float16' || (format.kind === 'blockwise' && format.float16) ? 'float16' : 'float32';
}
