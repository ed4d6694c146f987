import { ERROR_CODES, PaliError } from '@pali/errors';
import { assertPixelLimit, DEFAULT_MAX_PIXELS, isRgbImage, type RgbImage, toRgb } from './rgb-image.js';

/** RGBA pixels as a canvas's ImageData holds them (4 bytes per pixel, no row padding). */
export interface ImageDataLike {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray | Uint8Array;
}

/**
 * What the decoders accept: a path (Node) or URL, encoded bytes, a Blob, RGBA ImageData, or pixels that
 * are decoded already.
 */
export type ImageInput = string | URL | Uint8Array | ArrayBuffer | Blob | ImageDataLike | RgbImage;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (decompression bombs). Default DEFAULT_MAX_PIXELS. */
  maxPixels?: number;
  /** Cancels fetching and decoding with an ABORTED error. */
  signal?: AbortSignal;
}

function isImageDataLike(value: unknown): value is ImageDataLike {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<ImageDataLike>;
  return (
    typeof v.width === 'number' &&
    typeof v.height === 'number' &&
    (v.data instanceof Uint8ClampedArray || v.data instanceof Uint8Array) &&
    v.data.length === v.width * v.height * 4
  );
}

/**
 * Inputs that are pixels already: RgbImage as it is, ImageData with alpha dropped (as Pillow's
 * convert('RGB') does). Undefined for inputs that still need decoding.
 */
export function decodedPixels(input: ImageInput, options: DecodeOptions = {}): RgbImage | undefined {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (isRgbImage(input)) {
    assertPixelLimit(input.width, input.height, maxPixels);
    return input;
  }
  if (isImageDataLike(input)) {
    assertPixelLimit(input.width, input.height, maxPixels);
    return toRgb(input.width, input.height, 4, input.data);
  }
  if (typeof input === 'object' && input !== null && 'width' in input && 'data' in input) {
    throw new PaliError(ERROR_CODES.SHAPE_MISMATCH, 'Pixel data does not match its width and height', {
      hint: 'Pass RGB (3 bytes per pixel) or RGBA ImageData (4 bytes per pixel) without row padding',
    });
  }
  return undefined;
}

/** Copies bytes out of the input kinds that hold encoded data directly. */
export function encodedBytes(input: Uint8Array | ArrayBuffer): Uint8Array {
  return input instanceof Uint8Array ? input : new Uint8Array(input);
}

/** 16-bit greyscale to 8 bits the way Pillow converts mode I;16 to RGB: values above 255 clip to 255. */
export function clipGrey16(values: Uint16Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(values[i]!, 255);
  return out;
}

/**
 * Pillow's cmyk2rgb (Convert.c): nk = 255 - K; each channel CLIP8(nk - MULDIV255(C, nk)) with
 * MULDIV255(a, b) = ((a*b + 128) >> 8 + (a*b + 128)) >> 8. No colour management, as Pillow does.
 */
export function cmykToRgb(width: number, height: number, cmyk: Uint8Array): RgbImage {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const nk = 255 - cmyk[i * 4 + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = cmyk[i * 4 + c]! * nk + 128;
      const v = nk - (((t >> 8) + t) >> 8);
      out[i * 3 + c] = v < 0 ? 0 : Math.min(v, 255);
    }
  }
  return { width, height, data: out };
}
