import { ERROR_CODES, PaliError } from '@pali/errors';
import type { RgbImage } from '@pali/image';
import { decodeBytes } from '@pali/image/node';
import { badRequest, HttpError } from './http-errors.js';

export interface ImageLimits {
  /** Refuse images with more pixels than this (checked from the header, before decoding). */
  maxPixels: number;
  /** Fetch http(s) URLs (an SSRF risk on a shared network: off unless asked for). */
  allowRemoteImages: boolean;
  /** Most bytes fetched from a remote URL. */
  maxImageBytes: number;
  /** Time limit of a remote fetch. */
  fetchTimeoutMs: number;
}

const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?((?:;[\w-]+=[^;,]*)*)(;base64)?,/i;

/** Decodes an image given as a data URL (or an http(s) URL when allowed) to RGB pixels. */
export async function loadRequestImage(
  url: unknown,
  limits: ImageLimits,
  signal: AbortSignal,
  param: string,
): Promise<RgbImage> {
  if (typeof url !== 'string' || url.length === 0) {
    throw badRequest('An image is required: a data: URL or an http(s) URL', param, 'missing_image');
  }
  const bytes = await imageBytes(url, limits, signal, param);
  try {
    return await decodeBytes(bytes, { maxPixels: limits.maxPixels, signal }, 'The request image');
  } catch (error) {
    if (error instanceof PaliError && error.code === ERROR_CODES.TOO_LARGE) {
      throw new HttpError(413, error.message, 'invalid_request_error', 'image_too_large', param);
    }
    if (error instanceof PaliError && error.code !== ERROR_CODES.ABORTED) {
      throw new HttpError(400, error.message, 'invalid_request_error', 'invalid_image', param);
    }
    throw error;
  }
}

async function imageBytes(
  url: string,
  limits: ImageLimits,
  signal: AbortSignal,
  param: string,
): Promise<Uint8Array> {
  const data = DATA_URL.exec(url);
  if (data) {
    const mime = (data[1] ?? '').toLowerCase();
    if (mime && !mime.startsWith('image/') && mime !== 'application/octet-stream') {
      throw new HttpError(
        415,
        `The data URL holds ${mime}, not an image`,
        'invalid_request_error',
        'unsupported_media_type',
        param,
      );
    }
    const payload = url.slice(data[0].length);
    if (!data[3]) return new TextEncoder().encode(decodeURIComponent(payload));
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload)) {
      throw badRequest('The data URL is not valid base64', param, 'invalid_image');
    }
    return new Uint8Array(Buffer.from(payload, 'base64'));
  }
  if (!/^https?:\/\//i.test(url)) {
    throw badRequest('An image URL must be a data: URL or an http(s) URL', param, 'invalid_image_url');
  }
  if (!limits.allowRemoteImages) {
    throw new HttpError(
      400,
      'This server does not fetch image URLs; send the image as a data: URL (start the server with --allow-remote-images to allow http(s) URLs)',
      'invalid_request_error',
      'remote_images_disabled',
      param,
    );
  }
  const timeout = AbortSignal.timeout(limits.fetchTimeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.any([signal, timeout]), redirect: 'follow' });
  } catch (error) {
    throw badRequest(
      `Could not fetch the image URL (${(error as Error).message})`,
      param,
      'image_fetch_failed',
    );
  }
  if (!response.ok) {
    throw badRequest(`Fetching the image URL gave HTTP ${response.status}`, param, 'image_fetch_failed');
  }
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > limits.maxImageBytes) {
    await response.body?.cancel();
    throw new HttpError(
      413,
      `The image at the URL is over ${limits.maxImageBytes} bytes`,
      'invalid_request_error',
      'image_too_large',
      param,
    );
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    const chunk = next.value;
    size += chunk.byteLength;
    if (size > limits.maxImageBytes) {
      await reader?.cancel();
      throw new HttpError(
        413,
        `The image at the URL is over ${limits.maxImageBytes} bytes`,
        'invalid_request_error',
        'image_too_large',
        param,
      );
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
