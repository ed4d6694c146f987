import { ERROR_CODES, PaliError } from '@pali/errors';

/**
 * Random-access bytes: a file (Node: positioned reads), a Blob or a buffer. Readers take this so the
 * same parsing works in Node and browsers and never needs the whole file in memory.
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** A name for messages (a path or URL). */
  readonly name: string;
  /** Exactly `length` bytes from `offset`; rejects with CORRUPT_FILE when the source ends sooner. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close?(): Promise<void>;
}

export function checkRange(source: { size: number; name: string }, offset: number, length: number): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > source.size
  )
    throw new PaliError(
      ERROR_CODES.CORRUPT_FILE,
      `${source.name}: a read of ${length} bytes at ${offset} goes past the end (${source.size} bytes)`,
      { hint: 'The file is truncated or corrupt; download it again' },
    );
}

/** A ByteSource over bytes in memory. */
export function bytesSource(bytes: Uint8Array, name = 'buffer'): ByteSource {
  return {
    size: bytes.byteLength,
    name,
    async read(offset, length) {
      checkRange(this, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A ByteSource over a Blob or File (browsers, and Node ≥ 20). */
export function blobSource(blob: Blob, name = 'blob'): ByteSource {
  return {
    size: blob.size,
    name,
    async read(offset, length) {
      checkRange(this, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}
