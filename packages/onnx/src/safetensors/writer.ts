import { ERROR_CODES, PaliError } from '@pali/errors';
import { byteLength, bytesOf, type DType, elementCount, type TypedArray } from '../dtype.js';
import { SAFETENSORS_DTYPES } from './header.js';

export interface SafetensorsInput {
  name: string;
  dtype: DType;
  shape: readonly number[];
  /** Little-endian bytes or a typed array (f16/bf16 as Uint16Array bits). */
  data: TypedArray | Uint8Array;
}

const FILE_DTYPE = Object.fromEntries(Object.entries(SAFETENSORS_DTYPES).map(([k, v]) => [v, k])) as Record<
  DType,
  string | undefined
>;

/**
 * Encodes tensors as a safetensors file (for fixtures and tests): header padded with spaces to a
 * multiple of 8 as the reference writer does, tensors in the given order.
 */
export function encodeSafetensors(
  tensors: readonly SafetensorsInput[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const t of tensors) {
    const fileDType = FILE_DTYPE[t.dtype];
    if (!fileDType) throw new PaliError(ERROR_CODES.UNSUPPORTED_DTYPE, `safetensors has no ${t.dtype}`);
    const bytes = bytesOf(t.data);
    const want = byteLength(t.dtype, elementCount(t.shape));
    if (bytes.byteLength !== want)
      throw new PaliError(
        ERROR_CODES.SHAPE_MISMATCH,
        `Tensor "${t.name}" has ${bytes.byteLength} bytes, needs ${want}`,
      );
    if (Object.hasOwn(header, t.name))
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `Tensor "${t.name}" given twice`);
    header[t.name] = { dtype: fileDType, shape: [...t.shape], data_offsets: [offset, offset + want] };
    offset += want;
    parts.push(bytes);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((new TextEncoder().encode(json).byteLength + 8) % 8)) % 8);
  const jsonBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + jsonBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.byteLength), true);
  out.set(jsonBytes, 8);
  let p = 8 + jsonBytes.byteLength;
  for (const b of parts) {
    out.set(b, p);
    p += b.byteLength;
  }
  return out;
}
