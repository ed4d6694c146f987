import { ERROR_CODES, PaliError } from '@pali/errors';

/** The container formats the decoders accept, recognised from their first bytes. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff' | 'bmp';

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** The format of an encoded image from its signature, or undefined when none matches. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && ascii(bytes, 1, 4) === 'PNG' && bytes[0] === 0x89) return 'png';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  if (bytes.length >= 6 && ascii(bytes, 0, 4) === 'GIF8') return 'gif';
  if (
    bytes.length >= 12 &&
    ascii(bytes, 4, 8) === 'ftyp' &&
    /^(avif|avis|mif1|msf1|heic|heix)$/.test(ascii(bytes, 8, 12))
  )
    return 'avif';
  if (bytes.length >= 4 && (ascii(bytes, 0, 4) === 'II*\0' || ascii(bytes, 0, 4) === 'MM\0*')) return 'tiff';
  if (bytes.length >= 2 && ascii(bytes, 0, 2) === 'BM') return 'bmp';
  return undefined;
}

/** Throws a typed error for empty input and for bytes that are no image format we know. */
export function checkEncoded(bytes: Uint8Array, what: string): ImageFormat {
  if (bytes.length === 0) {
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${what} is empty (0 bytes)`, {
      hint: 'Check that the file was written completely',
    });
  }
  const format = sniffFormat(bytes);
  if (!format) {
    throw new PaliError(ERROR_CODES.UNSUPPORTED, `${what} is not an image format we can read`, {
      hint: 'Use JPEG, PNG, WebP, GIF, AVIF or TIFF',
      details: { firstBytes: Array.from(bytes.subarray(0, 8)) },
    });
  }
  return format;
}

/** A short name for an input in error messages. */
export function describeInput(input: unknown): string {
  if (typeof input === 'string') return input.length > 80 ? `${input.slice(0, 77)}...` : input;
  if (input instanceof URL) return input.href;
  return 'The image data';
}
