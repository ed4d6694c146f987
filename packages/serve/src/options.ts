import type { PaliGemma } from '@pali/core';
import type { RgbImage } from '@pali/image';

/** What the server needs of a loaded model (a @pali/node PaliGemma fits). */
export type ServedModel = Pick<PaliGemma<RgbImage>, 'generate' | 'caption' | 'ask' | 'detect' | 'segment'>;

export interface ServeOptions {
  /** The model name reported in responses and /v1/models. */
  modelName?: string;
  /** Most generations running at once (default 1). */
  concurrency?: number;
  /** Most requests waiting for a slot; more are answered 429 (default 16). */
  maxQueue?: number;
  /** The Retry-After seconds sent with 429 (default 1). */
  retryAfterSeconds?: number;
  /** Largest request body in bytes (default 20 MiB). */
  maxBodyBytes?: number;
  /** Largest image in pixels, checked from the header before decoding (default 40 M). */
  maxPixels?: number;
  /** Largest max_tokens a request may ask for (default 1024). */
  maxTokens?: number;
  /** max_tokens when a request gives none (default 256). */
  defaultMaxTokens?: number;
  /** Require `Authorization: Bearer <apiKey>` on /v1/* when set. */
  apiKey?: string;
  /** Fetch http(s) image URLs (off by default: an SSRF risk). */
  allowRemoteImages?: boolean;
  /** Largest image fetched from a URL, in bytes (default 20 MiB). */
  maxImageBytes?: number;
  /** Time limit of an image fetch (default 10 s). */
  fetchTimeoutMs?: number;
}

export type ResolvedServeOptions = Required<Omit<ServeOptions, 'apiKey'>> & { apiKey: string | undefined };

export function resolveServeOptions(o: ServeOptions): ResolvedServeOptions {
  return {
    modelName: o.modelName ?? 'paligemma',
    concurrency: o.concurrency ?? 1,
    maxQueue: o.maxQueue ?? 16,
    retryAfterSeconds: o.retryAfterSeconds ?? 1,
    maxBodyBytes: o.maxBodyBytes ?? 20 * 1024 * 1024,
    maxPixels: o.maxPixels ?? 40_000_000,
    maxTokens: o.maxTokens ?? 1024,
    defaultMaxTokens: o.defaultMaxTokens ?? 256,
    apiKey: o.apiKey,
    allowRemoteImages: o.allowRemoteImages ?? false,
    maxImageBytes: o.maxImageBytes ?? 20 * 1024 * 1024,
    fetchTimeoutMs: o.fetchTimeoutMs ?? 10_000,
  };
}
