import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ERROR_CODES, PaliError } from '@pali/errors';
import type { ResolvedHubConfig } from '../config.js';
import { type DownloadSink, downloadResumable } from '../download.js';
import { downloadHeaders, type HubFileMetadata, type RequestContext } from '../hub-api.js';
import { type RepoCache, uniqueSuffix } from './cache-layout.js';

export interface BlobDownloadOptions {
  signal?: AbortSignal;
  onBytes?: (loaded: number, total: number | undefined) => void;
  retries?: number;
  retryDelayMs?: number;
  /** Check the bytes against the etag (sha256 for LFS files, git blob sha1 otherwise). Default true. */
  verify?: boolean;
}

/** sha256 (64 hex, LFS) or git's blob sha1 (40 hex) of a file, whichever the etag is. */
async function contentId(path: string, kind: 'sha256' | 'git-sha1'): Promise<string> {
  const hash = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') hash.update(`blob ${(await stat(path)).size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function etagKind(etag: string): 'sha256' | 'git-sha1' | undefined {
  if (/^[0-9a-f]{64}$/.test(etag)) return 'sha256';
  if (/^[0-9a-f]{40}$/.test(etag)) return 'git-sha1';
  return undefined;
}

/**
 * Downloads one blob into blobs/{etag}. Bytes go to a file of this process's own
 * (`{etag}.{random}.incomplete`, so two processes never write one file), which first takes over a
 * `{etag}.incomplete` left by an interrupted run and resumes it with a Range request. On success it
 * is renamed to blobs/{etag} in one step; on failure or cancel it is renamed back to
 * `{etag}.incomplete` for the next run. Python's current huggingface_hub resumes only within one
 * call and ignores these files, so they never confuse it.
 */
export async function downloadBlob(
  config: ResolvedHubConfig,
  cache: RepoCache,
  meta: HubFileMetadata,
  ctx: RequestContext & { path: string },
  options: BlobDownloadOptions,
): Promise<void> {
  const blob = cache.blobPath(meta.etag);
  const partial = `${blob}.incomplete`;
  const mine = `${blob}.${uniqueSuffix()}.incomplete`;
  await mkdir(dirname(blob), { recursive: true });
  try {
    await rename(partial, mine);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const handle = await open(mine, 'a');
  let held = (await handle.stat()).size;
  const sink: DownloadSink = {
    size: () => held,
    write: async (chunk) => {
      await handle.write(chunk);
      held += chunk.byteLength;
    },
    reset: async () => {
      await handle.truncate(0);
      held = 0;
    },
  };
  try {
    await downloadResumable(config, {
      url: meta.location,
      headers: downloadHeaders(config, meta.location),
      expectedSize: meta.size,
      sink,
      ctx,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onBytes ? { onBytes: options.onBytes } : {}),
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
    });
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    if (held > 0) await rename(mine, partial).catch(() => rm(mine, { force: true }));
    else await rm(mine, { force: true });
    throw error;
  }
  const kind = options.verify === false ? undefined : etagKind(meta.etag);
  if (kind && (await contentId(mine, kind)) !== meta.etag) {
    await rm(mine, { force: true });
    throw new PaliError(
      ERROR_CODES.CORRUPT_FILE,
      `${ctx.path} from ${ctx.repo} does not match its checksum`,
      {
        hint: 'The download was corrupted on the way; run again to download it afresh',
        details: { url: meta.location, etag: meta.etag },
      },
    );
  }
  await rename(mine, blob);
}
