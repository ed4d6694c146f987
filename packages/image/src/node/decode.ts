import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, isPaliError, PaliError, throwIfAborted } from '@pali/errors';
import sharp from 'sharp';
import { fetchImage } from '../fetch-image.js';
import { checkEncoded, describeInput } from '../format.js';
import {
  clipGrey16,
  cmykToRgb,
  type DecodeOptions,
  decodedPixels,
  encodedBytes,
  type ImageInput,
} from '../input.js';
import { assertPixelLimit, DEFAULT_MAX_PIXELS, type RgbImage, toRgb } from '../rgb-image.js';

async function fetchBytes(url: string, signal: AbortSignal | undefined): Promise<Uint8Array> {
  return new Uint8Array(
    await (
      await fetchImage(url, signal, 'Check the URL and the network, or pass a local file')
    ).arrayBuffer(),
  );
}

async function readPath(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    throw new PaliError(
      code === 'ENOENT' ? ERROR_CODES.NOT_FOUND : ERROR_CODES.INVALID_ARGUMENT,
      code === 'ENOENT' ? `No image file at ${path}` : `Cannot read ${path} (${code ?? 'error'})`,
      { hint: 'Check the path', cause },
    );
  }
}

/** The encoded bytes behind a path, URL, buffer or Blob. */
export async function readImageBytes(input: ImageInput, signal?: AbortSignal): Promise<Uint8Array> {
  if (typeof input === 'string') {
    return /^https?:\/\//i.test(input) ? fetchBytes(input, signal) : readPath(input);
  }
  if (input instanceof URL) {
    if (input.protocol === 'file:') return readPath(fileURLToPath(input));
    return fetchBytes(input.href, signal);
  }
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) return encodedBytes(input);
  if (typeof Blob !== 'undefined' && input instanceof Blob) return new Uint8Array(await input.arrayBuffer());
  throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'Unsupported image input', {
    hint: 'Pass a path, URL, bytes, Blob, ImageData or decoded RGB pixels',
  });
}

function decodeError(cause: unknown, what: string): PaliError {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/pixel limit/i.test(message)) {
    return new PaliError(ERROR_CODES.TOO_LARGE, `${what} has more pixels than allowed`, {
      hint: 'Raise maxPixels if you trust this image',
      cause,
    });
  }
  if (/unsupported image format/i.test(message)) {
    return new PaliError(ERROR_CODES.UNSUPPORTED, `${what} is not an image format we can read`, {
      hint: 'Use JPEG, PNG, WebP, GIF, AVIF or TIFF',
      cause,
    });
  }
  return new PaliError(
    ERROR_CODES.CORRUPT_FILE,
    `${what} is truncated or corrupt (${message.split('\n')[0]})`,
    {
      hint: 'Re-download or re-export the image',
      cause,
    },
  );
}

/**
 * Decodes with sharp to the RGB pixels Pillow gives for
 * `ImageOps.exif_transpose(Image.open(f)).convert('RGB')`: EXIF orientation applied, first frame only,
 * alpha dropped (not composited), grey repeated, palettes expanded, CMYK through Pillow's naive
 * formula (no ICC), 16-bit grey clipped at 255 and 16-bit colour cut to its high byte as Pillow does.
 */
export async function decodeBytes(
  bytes: Uint8Array,
  options: DecodeOptions = {},
  what = 'The image',
): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  checkEncoded(bytes, what);
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height) throw new Error('no image size in header');
    assertPixelLimit(meta.width, meta.height, maxPixels);
    throwIfAborted(options.signal, 'image decoding');
    const base = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'warning' }).rotate();
    if (meta.space === 'cmyk') {
      const { data, info } = await base
        .pipelineColourspace('cmyk')
        .toColourspace('cmyk')
        .raw()
        .toBuffer({ resolveWithObject: true });
      return cmykToRgb(info.width, info.height, data);
    }
    if (meta.depth === 'ushort' && meta.channels === 1) {
      const { data, info } = await base
        .toColourspace('grey16')
        .raw({ depth: 'ushort' })
        .toBuffer({ resolveWithObject: true });
      const grey = clipGrey16(new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2));
      return toRgb(info.width, info.height, 1, grey);
    }
    const { data, info } = await base.raw().toBuffer({ resolveWithObject: true });
    return toRgb(info.width, info.height, info.channels, data);
  } catch (error) {
    if (isPaliError(error)) throw error;
    throw decodeError(error, what);
  }
}

/** Any supported input to Pillow-equal RGB pixels (see decodeBytes). */
export async function decodeImage(input: ImageInput, options: DecodeOptions = {}): Promise<RgbImage> {
  const pixels = decodedPixels(input, options);
  if (pixels) return pixels;
  const bytes = await readImageBytes(input, options.signal);
  return decodeBytes(bytes, options, describeInput(input));
}
