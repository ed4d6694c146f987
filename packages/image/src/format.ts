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

const u16be = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const u16le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u24le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const u32be = (b: Uint8Array, i: number) =>
  ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

function jpegSize(b: Uint8Array): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: u16be(b, i + 5), width: u16be(b, i + 7) };
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    i += 2 + u16be(b, i + 2);
  }
  return undefined;
}

/**
 * Width and height from the header (before orientation), for the formats whose size sits in the
 * first bytes: PNG, GIF, WebP, BMP, and JPEG when its frame header is within `bytes`. Lets a decoder
 * refuse a decompression bomb before decoding it. Undefined when not found.
 */
export function readImageSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const b = bytes;
  switch (sniffFormat(b)) {
    case 'png':
      return b.length >= 24 ? { width: u32be(b, 16), height: u32be(b, 20) } : undefined;
    case 'gif':
      return b.length >= 10 ? { width: u16le(b, 6), height: u16le(b, 8) } : undefined;
    case 'bmp':
      return b.length >= 26
        ? {
            width: Math.abs(new DataView(b.buffer, b.byteOffset).getInt32(18, true)),
            height: Math.abs(new DataView(b.buffer, b.byteOffset).getInt32(22, true)),
          }
        : undefined;
    case 'webp': {
      if (b.length < 30) return undefined;
      const chunk = ascii(b, 12, 16);
      if (chunk === 'VP8X') return { width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
      if (chunk === 'VP8L') {
        const bits = (b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24)) >>> 0;
        return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
      }
      if (chunk === 'VP8 ') return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
      return undefined;
    }
    case 'jpeg':
      return jpegSize(b);
    default:
      return undefined;
  }
}
