import { ERROR_CODES, PaliError } from '@pali/errors';
import type { DType } from '../dtype.js';

/** safetensors dtype names we read, and the dtype each maps to. */
export const SAFETENSORS_DTYPES: Record<string, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U64: 'uint64',
  U32: 'uint32',
  U16: 'uint16',
  U8: 'uint8',
  BOOL: 'bool',
};

const ITEM_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** The reference implementation's cap on the JSON header (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensorInfo {
  readonly name: string;
  /** The dtype as written in the file (F32, BF16, ...). */
  readonly fileDType: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Absolute byte offset of the data in the file. */
  readonly offset: number;
  readonly byteLength: number;
}

export interface SafetensorsHeader {
  /** Bytes before the data section: 8 + header length. */
  readonly dataStart: number;
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
}

function corrupt(file: string, what: string): PaliError {
  return new PaliError(ERROR_CODES.CORRUPT_FILE, `${file} is not a valid safetensors file: ${what}`, {
    hint: 'Download the checkpoint again or check that it is a .safetensors file',
    details: { file },
  });
}

/** Header length from the first 8 bytes, checked against the file size before anything is read. */
export function parseHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.byteLength < 8)
    throw corrupt(file, `it has ${fileSize} bytes, fewer than the 8-byte prefix`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8))
    throw corrupt(file, `the header length ${n} exceeds the file size ${fileSize}`);
  if (n > BigInt(MAX_HEADER_BYTES))
    throw corrupt(file, `the header length ${n} exceeds ${MAX_HEADER_BYTES} bytes`);
  if (n < 2n) throw corrupt(file, `the header length ${n} is too small for JSON`);
  return Number(n);
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Parses and validates the JSON header: known dtypes, integer shapes, shape × item size equal to the
 * byte span, spans inside the data section and not overlapping.
 */
export function parseHeader(file: string, json: Uint8Array, fileSize: number): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw corrupt(file, 'the header is not UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, `the header is not JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw corrupt(file, 'the header is not a JSON object');
  const dataStart = 8 + json.byteLength;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, SafetensorsTensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        throw corrupt(file, '__metadata__ is not an object');
      for (const v of Object.values(raw))
        if (typeof v !== 'string') throw corrupt(file, '__metadata__ values must be strings');
      metadata = raw as Record<string, string>;
      continue;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw corrupt(file, `entry "${name}" is not an object`);
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string') throw corrupt(file, `tensor "${name}" has no dtype`);
    const dtype = SAFETENSORS_DTYPES[e.dtype];
    if (!dtype || !Object.hasOwn(SAFETENSORS_DTYPES, e.dtype))
      throw new PaliError(ERROR_CODES.UNSUPPORTED_DTYPE, `${file}: tensor "${name}" has dtype ${e.dtype}`, {
        hint: `Supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`,
        details: { file, tensor: name, dtype: e.dtype },
      });
    if (!Array.isArray(e.shape) || !e.shape.every(isNonNegInt))
      throw corrupt(file, `tensor "${name}" has a shape that is not a list of non-negative integers`);
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !isNonNegInt(off[0]) ||
      !isNonNegInt(off[1]) ||
      off[0] > off[1]
    )
      throw corrupt(file, `tensor "${name}" has invalid data_offsets`);
    const [begin, end] = off as [number, number];
    if (end > dataSize)
      throw corrupt(file, `tensor "${name}" ends at ${end}, past the data section (${dataSize} bytes)`);
    // Multiply with an early exit so a hostile shape cannot overflow into a matching size.
    const dims = e.shape as number[];
    let bytes = dims.includes(0) ? 0 : ITEM_BYTES[e.dtype]!;
    for (const d of dims) {
      if (bytes > dataSize) break;
      bytes *= d;
    }
    if (bytes !== end - begin)
      throw new PaliError(
        ERROR_CODES.CORRUPT_FILE,
        `${file} is not a valid safetensors file: tensor "${name}" is ${e.dtype}[${(e.shape as number[]).join(', ')}] but spans ${end - begin} bytes`,
        {
          hint: 'The header disagrees with the data; download the checkpoint again',
          details: { file, tensor: name },
        },
      );
    tensors.set(name, {
      name,
      fileDType: e.dtype,
      dtype,
      shape: e.shape as number[],
      offset: dataStart + begin,
      byteLength: end - begin,
    });
  }
  const spans = [...tensors.values()].filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1]!;
    const cur = spans[i]!;
    if (cur.offset < prev.offset + prev.byteLength)
      throw corrupt(file, `tensors "${prev.name}" and "${cur.name}" overlap`);
  }
  return { dataStart, tensors, metadata };
}
