import { mkdir, stat } from 'node:fs/promises';
import { ERROR_CODES, isPaliError, PaliError } from '@pali/errors';
import {
  type HubFileSpec,
  type HubOptions,
  isCommitHash,
  normalizeFileSpecs,
  type ResolvedHubConfig,
  resolveHubConfig,
  validateRepoId,
} from '../config.js';
import { abortError } from '../errors.js';
import { fetchFileMetadata, fetchRevisionInfo, type HubFileMetadata } from '../hub-api.js';
import { ProgressTracker } from '../progress.js';
import { downloadBlob } from './blob-download.js';
import { RepoCache, resolveCacheDir, writeCacheDirTag } from './cache-layout.js';

export interface NodeHubOptions extends HubOptions {
  /** Cache root. Default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub (shared with Python). */
  cacheDir?: string;
  /** Resumptions after a cut connection within one call. Default 5. */
  retries?: number;
  /** Pause before each resumption. Default 500 ms. */
  retryDelayMs?: number;
  /** Check each downloaded blob against its etag (sha256 / git sha1). Default true. */
  verify?: boolean;
}

export interface CachedModelFiles {
  repo: string;
  revision: string;
  /** The commit the files come from. */
  commit: string;
  /** snapshots/{commit}: a folder in the repo's own layout (symlinks to blobs). */
  snapshotDir: string;
  /** Repo path → absolute path under snapshotDir, for every file found. */
  files: Record<string, string>;
  /** Optional files that the commit does not have. */
  missing: string[];
  /** Files that had to be downloaded by this call (the rest came from the cache). */
  downloaded: string[];
}

function offlineMissing(repo: string, revision: string, missing: string[], why: string): PaliError {
  return new PaliError(
    ERROR_CODES.NETWORK_ERROR,
    `Offline mode: ${missing.join(', ')} of ${repo}@${revision} ${missing.length === 1 ? 'is' : 'are'} not in the cache (${why})`,
    {
      hint: why.startsWith('the Hub')
        ? 'Check your connection and HF_ENDPOINT, then run again to download them'
        : 'Unset HF_HUB_OFFLINE (or pass offline: false) once to download them, or pin a revision that is cached',
      details: { repo, revision, missing },
    },
  );
}

/** A network failure with no HTTP answer (Python falls back to the cache for these, not for 4xx). */
function isConnectionFailure(error: unknown): boolean {
  return isPaliError(error, ERROR_CODES.NETWORK_ERROR) && (error as PaliError).details.status === undefined;
}

/** The commit a revision means, from the cache when offline (or unreachable), else one API call. */
async function resolveCommit(
  config: ResolvedHubConfig,
  cache: RepoCache,
  repo: string,
  paths: string[],
  signal: AbortSignal | undefined,
): Promise<{ commit: string; offline: boolean }> {
  const revision = config.revision;
  if (isCommitHash(revision)) return { commit: revision, offline: config.offline };
  if (config.offline) {
    const commit = await cache.readRef(revision);
    if (!commit) throw offlineMissing(repo, revision, paths, `no refs/${revision} in ${cache.root}`);
    return { commit, offline: true };
  }
  try {
    const info = await fetchRevisionInfo(config, { repo, revision }, signal);
    await cache.writeRef(revision, info.sha);
    return { commit: info.sha, offline: false };
  } catch (error) {
    const cached = isConnectionFailure(error) ? await cache.readRef(revision) : undefined;
    if (!cached) throw error;
    return { commit: cached, offline: true };
  }
}

/**
 * Makes `files` of `repo` at `revision` available in the HF cache and returns their paths.
 * Requests made: none when the revision is a commit and every file is cached; one metadata call
 * (GET /api/models/{repo}/revision/{rev}) to learn the commit of a branch or tag, as Python's
 * snapshot_download does; then, per missing file, one HEAD and one GET (resumed with Range when a
 * partial download exists). Offline (`HF_HUB_OFFLINE=1` or `offline: true`) makes no request at all.
 */
export async function downloadModelFiles(
  repo: string,
  files: readonly HubFileSpec[],
  options: NodeHubOptions = {},
): Promise<CachedModelFiles> {
  validateRepoId(repo);
  const specs = normalizeFileSpecs(files);
  const config = resolveHubConfig(options);
  const signal = options.signal;
  if (signal?.aborted) throw abortError(signal, 'download');
  const cacheDir = resolveCacheDir(options);
  const cache = new RepoCache(cacheDir, repo);
  const revision = config.revision;
  const { commit, offline } = await resolveCommit(
    config,
    cache,
    repo,
    specs.map((s) => s.path),
    signal,
  );

  const result: CachedModelFiles = {
    repo,
    revision,
    commit,
    snapshotDir: cache.snapshotDir(commit),
    files: {},
    missing: [],
    downloaded: [],
  };
  const progress = new ProgressTracker(options.onProgress);
  const cachedSizes = new Map<string, number>();
  const todo: { path: string; optional: boolean }[] = [];
  for (const spec of specs) {
    if (await cache.hasPointer(commit, spec.path)) {
      const pointer = cache.pointerPath(commit, spec.path);
      result.files[spec.path] = pointer;
      cachedSizes.set(spec.path, (await stat(pointer)).size);
    } else if (spec.optional && (await cache.hasNoExist(commit, spec.path))) {
      result.missing.push(spec.path);
    } else {
      todo.push(spec);
    }
  }
  if (todo.length > 0 && offline) {
    const why = config.offline ? 'offline mode is on' : 'the Hub could not be reached';
    throw offlineMissing(
      repo,
      revision,
      todo.map((t) => t.path),
      why,
    );
  }

  // Metadata for every missing file first, so progress has its overall total before any body.
  const metas = new Map<string, HubFileMetadata>();
  for (const spec of todo) {
    try {
      const meta = await fetchFileMetadata(config, { repo, revision: commit, path: spec.path }, signal);
      metas.set(spec.path, meta);
    } catch (error) {
      if (
        spec.optional &&
        isPaliError(error, ERROR_CODES.NOT_FOUND) &&
        error.details.hubErrorCode === 'EntryNotFound'
      ) {
        await cache.writeNoExist(commit, spec.path);
        result.missing.push(spec.path);
        continue;
      }
      throw error;
    }
  }
  for (const [path, size] of cachedSizes) progress.add(path, size);
  for (const [path, meta] of metas) progress.add(path, meta.size);
  for (const [path, size] of cachedSizes) progress.done(path, size);

  if (metas.size > 0) {
    await mkdir(cacheDir, { recursive: true });
    await writeCacheDirTag(cacheDir);
  }
  for (const [path, meta] of metas) {
    if (!(await cache.hasBlob(meta.etag))) {
      await downloadBlob(
        config,
        cache,
        meta,
        { repo, revision: commit, path },
        {
          ...(signal ? { signal } : {}),
          onBytes: (loaded, total) => progress.update(path, loaded, total),
          ...(options.retries !== undefined ? { retries: options.retries } : {}),
          ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
          ...(options.verify !== undefined ? { verify: options.verify } : {}),
        },
      );
      result.downloaded.push(path);
    }
    result.files[path] = await cache.linkPointer(commit, path, meta.etag);
    progress.done(path, (await stat(result.files[path])).size);
  }
  return result;
}

/** One file; the path of its snapshot entry. See downloadModelFiles for the requests it makes. */
export async function downloadModelFile(
  repo: string,
  path: string,
  options: NodeHubOptions = {},
): Promise<string> {
  const result = await downloadModelFiles(repo, [path], options);
  return result.files[path]!;
}

/**
 * Where a file would be in the cache, without any request (Python's try_to_load_from_cache):
 * the path, `null` when the cache records that the commit lacks the file, or undefined when unknown.
 */
export async function findCachedFile(
  repo: string,
  path: string,
  options: { revision?: string; cacheDir?: string; env?: HubOptions['env'] } = {},
): Promise<string | null | undefined> {
  validateRepoId(repo);
  const cache = new RepoCache(resolveCacheDir(options), repo);
  const revision = options.revision ?? 'main';
  const commit = isCommitHash(revision) ? revision : await cache.readRef(revision);
  if (!commit) return undefined;
  if (await cache.hasPointer(commit, path)) return cache.pointerPath(commit, path);
  if (await cache.hasNoExist(commit, path)) return null;
  return undefined;
}
