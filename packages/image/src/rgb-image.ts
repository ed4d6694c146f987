import { ERROR_CODES, PaliError } from '@pali/errors';

/** Decoded 8-bit RGB pixels, row-major and interleaved (R, G, B per pixel), no padding between rows. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 3 bytes. */
  readonly data: Uint8Array;
}

/**
 * Pillow's `Image.MAX_IMAGE_PIXELS` (1024 * 1024 * 1024 / 4 / 3): above it Pillow warns of a
 * decompression bomb. We refuse, which keeps one 4-byte-per-pixel copy under ~360 MB.
 */
export const DEFAULT_MAX_PIXELS = 89_478_485;

/** Throws TOO_LARGE when width × height exceeds the limit (checked before pixels are allocated). */
export function assertPixelLimit(width: number, height: number, maxPixels = DEFAULT_MAX_PIXELS): void {
  if (width * height > maxPixels) {
    throw new PaliError(
      ERROR_CODES.TOO_LARGE,
      `The image is ${width}×${height} = ${width * height} pixels, over the limit of ${maxPixels}`,
      {
        hint: 'Downscale the image first, or raise maxPixels if you trust its source',
        details: { width, height, maxPixels },
      },
    );
  }
}

function assertDimensions(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `Image size must be positive integers, got ${width}×${height}`,
      {
        hint: 'Pass width and height of at least 1 pixel',
      },
    );
  }
}

/** Wraps RGB bytes (or allocates zeroed ones) after checking that sizes agree. */
export function createRgbImage(width: number, height: number, data?: Uint8Array): RgbImage {
  assertDimensions(width, height);
  const expected = width * height * 3;
  if (data === undefined) return { width, height, data: new Uint8Array(expected) };
  if (data.length !== expected) {
    throw new PaliError(
      ERROR_CODES.SHAPE_MISMATCH,
      `RGB data for ${width}×${height} must hold ${expected} bytes, got ${data.length}`,
      { hint: 'Pass 3 bytes per pixel (R, G, B), rows without padding' },
    );
  }
  return { width, height, data };
}

/**
 * Interleaved pixels with 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels to RGB, the way
 * Pillow's `convert('RGB')` does for L, LA, RGB and RGBA: grey is repeated, alpha is dropped (not
 * composited over any background).
 */
export function toRgb(width: number, height: number, channels: number, data: ArrayLike<number>): RgbImage {
  assertDimensions(width, height);
  const n = width * height;
  if (![1, 2, 3, 4].includes(channels) || data.length !== n * channels) {
    throw new PaliError(
      ERROR_CODES.SHAPE_MISMATCH,
      `Expected ${width}×${height}×${channels} values with 1 to 4 channels, got ${data.length}`,
      { hint: 'Pass grey, grey+alpha, RGB or RGBA pixels without row padding' },
    );
  }
  if (channels === 3 && data instanceof Uint8Array) return { width, height, data };
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    if (channels <= 2) {
      const v = data[j]!;
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    } else {
      out[i * 3] = data[j]!;
      out[i * 3 + 1] = data[j + 1]!;
      out[i * 3 + 2] = data[j + 2]!;
    }
  }
  return { width, height, data: out };
}

/** True for an object shaped like an RgbImage (used to tell decoded pixels from other inputs). */
export function isRgbImage(value: unknown): value is RgbImage {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<RgbImage>;
  return (
    typeof v.width === 'number' &&
    typeof v.height === 'number' &&
    v.data instanceof Uint8Array &&
    v.data.length === v.width * v.height * 3
  );
}
