import { ERROR_CODES, isPaliError, PaliError, throwIfAborted } from '@pali/errors';
import { fetchImage } from '../fetch-image.js';
import { checkEncoded, describeInput, readImageSize } from '../format.js';
import { type DecodeOptions, decodedPixels, encodedBytes, type ImageInput } from '../input.js';
import { applyOrientation, readExifOrientation } from '../orientation.js';
import { assertPixelLimit, DEFAULT_MAX_PIXELS, type RgbImage, toRgb } from '../rgb-image.js';
import { browserAppliesOrientation } from './orientation-probe.js';
import { readRgbaCanvas, readRgbaWebgl } from './pixels.js';

async function fetchBlob(url: string, signal: AbortSignal | undefined): Promise<Blob> {
  return (await fetchImage(url, signal, 'Check the URL, the network and the server’s CORS headers')).blob();
}

async function toBlob(input: ImageInput, signal: AbortSignal | undefined): Promise<Blob> {
  if (typeof input === 'string' || input instanceof URL) return fetchBlob(String(input), signal);
  if (input instanceof Blob) return input;
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    return new Blob([encodedBytes(input) as Uint8Array<ArrayBuffer>]);
  }
  throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'Unsupported image input', {
    hint: 'Pass a URL, bytes, Blob, ImageData or decoded RGB pixels',
  });
}

/**
 * Decodes in the browser with createImageBitmap: orientation from the image's EXIF, no colour-space
 * conversion, no premultiplication; pixels read through WebGL2 (unpremultiplied) or else a 2D canvas;
 * alpha is then dropped (Pillow's convert('RGB')).
 */
export async function decodeImage(input: ImageInput, options: DecodeOptions = {}): Promise<RgbImage> {
  const pixels = decodedPixels(input, options);
  if (pixels) return pixels;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const what = describeInput(input);
  const blob = await toBlob(input, options.signal);
  // JPEG frame headers can sit after a large EXIF block; 512 KiB covers them in practice.
  const head = new Uint8Array(await blob.slice(0, 512 * 1024).arrayBuffer());
  const format = checkEncoded(head, what);
  // Refuse decompression bombs before the browser decodes them (checked again after decoding).
  const size = readImageSize(head);
  if (size) assertPixelLimit(size.width, size.height, maxPixels);
  if (format === 'tiff') {
    throw new PaliError(ERROR_CODES.UNSUPPORTED, `${what} is a TIFF, which browsers cannot decode`, {
      hint: 'Convert it to PNG or JPEG first',
    });
  }
  throwIfAborted(options.signal, 'image decoding');
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, {
      imageOrientation: 'from-image',
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
    });
  } catch (cause) {
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${what} could not be decoded (truncated or corrupt)`, {
      hint: 'Re-download or re-export the image',
      cause,
    });
  }
  try {
    assertPixelLimit(bitmap.width, bitmap.height, maxPixels);
    const rgba = readRgbaWebgl(bitmap) ?? readRgbaCanvas(bitmap);
    if (!rgba)
      throw new PaliError(ERROR_CODES.RUNTIME_ERROR, 'Neither WebGL2 nor a 2D canvas is available here');
    const rgb = toRgb(bitmap.width, bitmap.height, 4, rgba);
    const orientation = readExifOrientation(head, format);
    if (orientation > 1 && !(await browserAppliesOrientation(format)))
      return applyOrientation(rgb, orientation);
    return rgb;
  } catch (error) {
    if (isPaliError(error)) throw error;
    throw new PaliError(ERROR_CODES.RUNTIME_ERROR, `Reading the pixels of ${what} failed`, { cause: error });
  } finally {
    bitmap.close();
  }
}
