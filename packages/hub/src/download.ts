import { ERROR_CODES, PaliError } from '@pali/errors';
import type { ResolvedHubConfig } from './config.js';
import { abortError, hubErrorFromResponse, isAbortLike, networkError } from './errors.js';
import { hubFetch, type RequestContext } from './hub-api.js';

/** Where downloaded bytes go: a file opened for append (Node), chunks in memory (browser). */
export interface DownloadSink {
  /** Bytes already held: the offset a resumed request starts at. */
  size(): number | Promise<number>;
  write(chunk: Uint8Array): void | Promise<void>;
  /** Drops every byte held (the server ignored our Range, or sent a different file). */
  reset(): void | Promise<void>;
}

export interface ResumableDownload {
  url: string;
  headers: Record<string, string>;
  /** Size the metadata promised; the download fails unless it ends with exactly that many bytes. */
  expectedSize: number | undefined;
  sink: DownloadSink;
  ctx: RequestContext & { path: string };
  signal?: AbortSignal;
  /** Called with the bytes on hand after every chunk, resumed bytes included. */
  onBytes?: (loaded: number, total: number | undefined) => void;
  /** Resumptions after a cut connection before giving up (the count resets when bytes arrive). Default 5. */
  retries?: number;
  /** Pause before a resumption; Python waits 1 s. Default 500 ms. */
  retryDelayMs?: number;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal, 'download'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal, 'download'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `bytes 100-199/1000` → { start: 100, total: 1000 }. */
function parseContentRange(header: string | null): { start: number; total: number | undefined } | undefined {
  const m = header?.match(/^bytes (\d+)-\d+\/(\d+|\*)$/);
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

/**
 * GETs `url` into `sink`, resuming with `Range: bytes={held}-` after a cut connection, as
 * huggingface_hub's http_get does: bytes already held (from this call or an earlier one) are never
 * fetched twice, unless the server ignores Range (200), in which case the sink starts over.
 */
export async function downloadResumable(config: ResolvedHubConfig, job: ResumableDownload): Promise<number> {
  const retries = job.retries ?? 5;
  const delay = job.retryDelayMs ?? 500;
  let left = retries;
  let lastError: unknown;
  for (;;) {
    let held = await job.sink.size();
    if (job.expectedSize !== undefined && held > job.expectedSize) {
      await job.sink.reset();
      held = 0;
    }
    if (job.expectedSize !== undefined && held === job.expectedSize) return held;
    const headers: Record<string, string> = { ...job.headers, 'accept-encoding': 'identity' };
    if (held > 0) headers.range = `bytes=${held}-`;

    let response: Response;
    try {
      response = await hubFetch(config, job.url, { method: 'GET', headers, redirect: 'follow' }, job.signal);
    } catch (error) {
      if ((error as PaliError).code === ERROR_CODES.NETWORK_ERROR && left > 0) {
        left--;
        lastError = error;
        await sleep(delay, job.signal);
        continue;
      }
      throw error;
    }
    if (response.status === 416 && held > 0) {
      // What we hold is not a prefix of this file (it is at least as long): start over.
      await response.body?.cancel();
      await job.sink.reset();
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      if ((response.status >= 500 || response.status === 429) && left > 0) {
        left--;
        await sleep(delay, job.signal);
        continue;
      }
      throw hubErrorFromResponse(response, job.url, {
        ...job.ctx,
        hadToken: headers.authorization !== undefined,
        endpoint: config.endpoint,
      });
    }
    let offset = held;
    let total = job.expectedSize;
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (!range || range.start !== held) {
        await response.body?.cancel();
        await job.sink.reset();
        if (left-- <= 0) break;
        continue;
      }
      total ??= range.total;
    } else {
      if (held > 0) await job.sink.reset(); // the server ignored Range: a full body follows
      offset = 0;
      const length = response.headers.get('content-length');
      total ??= length === null ? undefined : Number(length);
    }
    job.onBytes?.(offset, total);
    if (!response.body) throw new PaliError(ERROR_CODES.NETWORK_ERROR, `${job.url} sent no body`);

    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.byteLength === 0) continue;
        await job.sink.write(value);
        offset += value.byteLength;
        left = retries; // as in Python: bytes arrived, so the connection is worth retrying again
        job.onBytes?.(offset, total);
      }
    } catch (error) {
      await reader.cancel().catch(() => {});
      if (isAbortLike(error, job.signal)) throw abortError(job.signal, 'download');
      if (error instanceof PaliError) throw error; // from the sink (disk full...)
      lastError = error;
      if (left-- > 0) {
        await sleep(delay, job.signal);
        continue;
      }
      break;
    }
    if (total !== undefined && offset < total) {
      // The body ended early without an error (a proxy that closes cleanly): resume the rest.
      lastError = new Error(`body ended at ${offset} of ${total} bytes`);
      if (left-- > 0) continue;
      break;
    }
    if (job.expectedSize !== undefined && offset !== job.expectedSize) {
      await job.sink.reset();
      throw new PaliError(
        ERROR_CODES.CORRUPT_FILE,
        `${job.ctx.path} from ${job.ctx.repo} is ${offset} bytes, the Hub announced ${job.expectedSize}`,
        {
          hint: 'Try again; if it persists the file changed on the Hub while downloading',
          details: { url: job.url },
        },
      );
    }
    return offset;
  }
  throw networkError(job.url, lastError);
}
