import { ERROR_CODES, PaliError } from '@pali/errors';
import { bytesOf, type TypedArray } from '../dtype.js';
import type { InitializerRecord } from '../graph/graph-builder.js';

function isView(x: unknown): x is TypedArray | Uint8Array {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

/**
 * The bytes of an initializer as chunks in order: its data, or what its lazy source produces. Checks
 * that the chunks add up to the tensor's byte length, so a wrong producer cannot shift later tensors.
 */
export async function* initializerChunks(rec: InitializerRecord): AsyncGenerator<Uint8Array> {
  if (rec.data) {
    yield rec.data;
    return;
  }
  let got = 0;
  const check = (chunk: unknown): Uint8Array => {
    if (!isView(chunk))
      throw new PaliError(
        ERROR_CODES.INVALID_ARGUMENT,
        `Initializer "${rec.name}": its source produced a non-byte chunk`,
        {
          hint: 'Produce Uint8Array or typed-array chunks',
        },
      );
    const b = bytesOf(chunk);
    got += b.byteLength;
    if (got > rec.byteLength) throw sizeError(rec, got);
    return b;
  };
  const produced = await rec.source!();
  if (isView(produced)) yield check(produced);
  else if (Symbol.asyncIterator in (produced as object))
    for await (const c of produced as AsyncIterable<Uint8Array>) yield check(c);
  else if (Symbol.iterator in (produced as object))
    for (const c of produced as Iterable<Uint8Array>) yield check(c);
  else yield check(produced);
  if (got !== rec.byteLength) throw sizeError(rec, got);
}

function sizeError(rec: InitializerRecord, got: number): PaliError {
  return new PaliError(
    ERROR_CODES.SHAPE_MISMATCH,
    `Initializer "${rec.name}": its source produced ${got > rec.byteLength ? 'more than' : 'only'} ${got} bytes, ${rec.dtype}[${rec.dims.join(', ')}] needs ${rec.byteLength}`,
    { hint: 'Make the lazy source produce exactly the tensor bytes', details: { name: rec.name } },
  );
}

/** All of an initializer's bytes in one buffer (for inline tensors). */
export async function initializerBytes(rec: InitializerRecord): Promise<Uint8Array> {
  if (rec.data) return rec.data;
  const out = new Uint8Array(rec.byteLength);
  let off = 0;
  for await (const c of initializerChunks(rec)) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
