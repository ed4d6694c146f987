import { ERROR_CODES, PaliError } from '@pali/errors';

/** Element types the builder and readers know, named as onnxruntime-common names them (plus bfloat16). */
export type DType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'int4'
  | 'uint4';

/** onnx.TensorProto.DataType numbers. */
const ONNX_CODES: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
  uint4: 21,
  int4: 22,
};

const BITS: Record<DType, number> = {
  float32: 32,
  float16: 16,
  bfloat16: 16,
  float64: 64,
  int8: 8,
  uint8: 8,
  int16: 16,
  uint16: 16,
  int32: 32,
  uint32: 32,
  int64: 64,
  uint64: 64,
  bool: 8,
  int4: 4,
  uint4: 4,
};

export const DTYPES = Object.keys(ONNX_CODES) as DType[];

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && Object.hasOwn(ONNX_CODES, x);
}

/** The onnx.TensorProto.DataType number of a dtype. */
export function onnxDataType(dtype: DType): number {
  return ONNX_CODES[dtype];
}

/** The dtype of an onnx.TensorProto.DataType number. */
export function dtypeFromOnnx(code: number): DType {
  for (const [k, v] of Object.entries(ONNX_CODES)) if (v === code) return k as DType;
  throw new PaliError(ERROR_CODES.UNSUPPORTED_DTYPE, `ONNX data type ${code} is not supported`, {
    hint: 'Use one of float32, float16, bfloat16, (u)int8/16/32/64, bool, (u)int4',
  });
}

export function dtypeBits(dtype: DType): number {
  return BITS[dtype];
}

/** Bytes taken by `count` elements; 4-bit types pack two per byte, rounded up as ONNX raw_data does. */
export function byteLength(dtype: DType, count: number): number {
  return Math.ceil((count * BITS[dtype]) / 8);
}

export function isFloatDType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float64';
}

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Bytes of a typed array, shared (no copy). */
export function bytesOf(data: TypedArray | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Element count of a fully static shape. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
