import { ERROR_CODES, PaliError } from '@pali/errors';
import { unzipSync } from 'fflate';
import type { DType, TypedArray } from '../dtype.js';
import { f16ArrayToF32 } from '../half.js';
import { typedArrayOf } from '../safetensors/reader.js';

export interface NpyArray {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** float16 stays as its bits in a Uint16Array; use toFloat32 for floats. */
  readonly data: TypedArray;
}

const DESCR: Record<string, DType> = {
  '<f4': 'float32',
  '<f2': 'float16',
  '<f8': 'float64',
  '<i8': 'int64',
  '<i4': 'int32',
  '<i2': 'int16',
  '|i1': 'int8',
  '|u1': 'uint8',
  '<u2': 'uint16',
  '<u4': 'uint32',
  '<u8': 'uint64',
  '|b1': 'bool',
};

function corrupt(name: string, what: string): PaliError {
  return new PaliError(ERROR_CODES.CORRUPT_FILE, `${name} is not a valid .npy array: ${what}`, {
    hint: 'Save it with numpy.save / numpy.savez (little-endian, C order)',
  });
}

/** Parses one .npy file (versions 1-3, little-endian, C order). */
export function parseNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.byteLength < 10 || magic.some((m, i) => bytes[i] !== m)) throw corrupt(name, 'no NUMPY magic');
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) throw corrupt(name, 'truncated header');
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else throw corrupt(name, `unknown version ${major}`);
  if (start + headerLen > bytes.byteLength) throw corrupt(name, 'the header runs past the end');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(start, start + headerLen),
  );
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw corrupt(name, 'unreadable header');
  const dtype = DESCR[descr];
  if (!dtype)
    throw new PaliError(ERROR_CODES.UNSUPPORTED_DTYPE, `${name} has numpy dtype ${descr}`, {
      hint: `Supported: ${Object.keys(DESCR).join(', ')}`,
    });
  if (fortran === 'True')
    throw new PaliError(ERROR_CODES.UNSUPPORTED, `${name} is in Fortran order`, {
      hint: 'Save it with numpy.ascontiguousarray first',
    });
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw corrupt(name, `bad shape (${shapeText})`);
  const itemBytes =
    { float64: 8, int64: 8, uint64: 8, float32: 4, int32: 4, uint32: 4 }[dtype as string] ??
    (dtype === 'float16' || dtype === 'int16' || dtype === 'uint16' ? 2 : 1);
  let count = 1;
  for (const d of shape) count *= d;
  const dataStart = start + headerLen;
  if (count * itemBytes !== bytes.byteLength - dataStart)
    throw corrupt(
      name,
      `shape (${shape.join(', ')}) needs ${count * itemBytes} bytes, the data has ${bytes.byteLength - dataStart}`,
    );
  return { dtype, shape, data: typedArrayOf(dtype, bytes.subarray(dataStart)) };
}

/** float32 data of a float32/float16/float64 array. */
export function npyToFloat32(a: NpyArray): Float32Array {
  if (a.dtype === 'float32') return a.data as Float32Array;
  if (a.dtype === 'float16') return f16ArrayToF32(a.data as Uint16Array);
  if (a.dtype === 'float64') return Float32Array.from(a.data as Float64Array);
  throw new PaliError(ERROR_CODES.UNSUPPORTED_DTYPE, `Array is ${a.dtype}, not a float type`);
}

/** Reads every array of an .npz (zip of .npy; stored or deflated), keyed by name without ".npy". */
export function parseNpz(bytes: Uint8Array, name = 'npz'): Map<string, NpyArray> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new PaliError(
      ERROR_CODES.CORRUPT_FILE,
      `${name} is not a valid .npz (zip) file: ${(e as Error).message}`,
      {
        hint: 'Save it with numpy.savez or numpy.savez_compressed',
        cause: e,
      },
    );
  }
  const out = new Map<string, NpyArray>();
  for (const [file, data] of Object.entries(files)) {
    if (!file.endsWith('.npy')) continue;
    const key = file.slice(0, -4);
    out.set(key, parseNpy(data, `${name}:${file}`));
  }
  return out;
}
