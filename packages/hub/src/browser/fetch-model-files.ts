import { ERROR_CODES, isPaliError, PaliError } from '@pali/errors';
import {
  type HubFileSpec,
  type HubOptions,
  isCommitHash,
  normalizeFileSpecs,
  type ResolvedHubConfig,
  resolveEndpoint,
  resolveHubConfig,
  validateRepoId,
} from '../config.js';
import { downloadResumable } from '../download.js';
import { abortError, hubErrorFromResponse } from '../errors.js';
import { authHeaders, fetchRevisionInfo, hubFetch, resolveUrl, revisionApiUrl } from '../hub-api.js';
import { ProgressTracker } from '../progress.js';

/** The part of the Cache API used here; `caches.open(name)` gives one, tests pass a Map-backed one. */
export interface CacheLike {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
  delete(request: string): Promise<boolean>;
}

export const DEFAULT_CACHE_NAME = 'pali-models';

export interface BrowserHubOptions extends HubOptions {
  /** Where files are kept: default `caches.open('pali-models')` where the Cache API exists; null keeps nothing. */
  cache?: CacheLike | null;
  /** Resumptions after a cut connection within one call. Default 5. */
  retries?: number;
  retryDelayMs?: number;
}

export interface BrowserModelFile {
  path: string;
  /** The cache key: the resolve URL with the commit, so a moved branch never serves stale bytes. */
  url: string;
  size: number;
  fromCache: boolean;
  /** The file's bytes (read from the cache on each call, or held in memory when there is no cache). */
  bytes(): Promise<Uint8Array>;
}

export interface BrowserModelFiles {
  repo: string;
  revision: string;
  commit: string;
  files: Record<string, BrowserModelFile>;
  missing: string[];
}

const NO_EXIST_HEADER = 'x-pali-no-exist';

async function defaultCache(): Promise<CacheLike | null> {
  const storage = (globalThis as { caches?: { open(name: string): Promise<CacheLike> } }).caches;
  return storage ? storage.open(DEFAULT_CACHE_NAME) : null;
}

function isConnectionFailure(error: unknown): boolean {
  return isPaliError(error, ERROR_CODES.NETWORK_ERROR) && (error as PaliError).details.status === undefined;
}

/** Branch or tag → commit: one API call, remembered in the cache under the API URL for offline use. */
async function resolveCommit(
  config: ResolvedHubConfig,
  cache: CacheLike | null,
  repo: string,
  signal: AbortSignal | undefined,
): Promise<{ commit: string; offline: boolean }> {
  const revision = config.revision;
  if (isCommitHash(revision)) return { commit: revision, offline: config.offline };
  const key = revisionApiUrl(config.endpoint, repo, revision);
  const cached = async () => {
    const hit = await cache?.match(key);
    const sha = hit ? ((await hit.json()) as { sha?: unknown }).sha : undefined;
    return typeof sha === 'string' && isCommitHash(sha) ? sha : undefined;
  };
  if (config.offline) {
    const commit = await cached();
    if (!commit) {
      throw new PaliError(
        ERROR_CODES.NETWORK_ERROR,
        `Offline mode: no cached commit for ${repo}@${revision}`,
        {
          hint: 'Load the model once online, or pin a revision that is cached',
          details: { repo, revision },
        },
      );
    }
    return { commit, offline: true };
  }
  try {
    const info = await fetchRevisionInfo(config, { repo, revision }, signal);
    await cache?.put(
      key,
      new Response(JSON.stringify({ sha: info.sha }), { headers: { 'content-type': 'application/json' } }),
    );
    return { commit: info.sha, offline: false };
  } catch (error) {
    const commit = isConnectionFailure(error) ? await cached() : undefined;
    if (!commit) throw error;
    return { commit, offline: true };
  }
}

/**
 * Fetches `files` of `repo` with progress and keeps them in the Cache API, keyed by the resolve URL
 * with the commit. Requests: none for a pinned commit whose files are cached; one API call to turn a
 * branch into a commit; per missing file a HEAD (its size, for the overall total) and a GET.
 * Bytes are held in memory until the whole file is in (the Cache API cannot append), so resuming
 * works within one call (Range after a cut connection) but not across page loads.
 */
export async function fetchModelFiles(
  repo: string,
  files: readonly HubFileSpec[],
  options: BrowserHubOptions = {},
): Promise<BrowserModelFiles> {
  validateRepoId(repo);
  const specs = normalizeFileSpecs(files);
  const config = resolveHubConfig(options);
  const signal = options.signal;
  if (signal?.aborted) throw abortError(signal, 'download');
  const cache = options.cache === undefined ? await defaultCache() : options.cache;
  const { commit, offline } = await resolveCommit(config, cache, repo, signal);
  const result: BrowserModelFiles = { repo, revision: config.revision, commit, files: {}, missing: [] };
  const progress = new ProgressTracker(options.onProgress);

  const todo: { path: string; optional: boolean; url: string }[] = [];
  const hits: BrowserModelFile[] = [];
  for (const spec of specs) {
    const url = resolveUrl(config.endpoint, repo, commit, spec.path);
    const hit = await cache?.match(url);
    if (hit?.headers.get(NO_EXIST_HEADER) && spec.optional) {
      result.missing.push(spec.path);
    } else if (hit && !hit.headers.get(NO_EXIST_HEADER)) {
      const size = Number(hit.headers.get('content-length') ?? (await hit.clone().arrayBuffer()).byteLength);
      await hit.body?.cancel();
      hits.push({
        path: spec.path,
        url,
        size,
        fromCache: true,
        bytes: () => readCached(cache, url, spec.path),
      });
    } else {
      todo.push({ ...spec, url });
    }
  }
  if (todo.length > 0 && offline) {
    const missing = todo.map((t) => t.path);
    throw new PaliError(
      ERROR_CODES.NETWORK_ERROR,
      `Offline mode: ${missing.join(', ')} of ${repo}@${config.revision} not in the browser cache`,
      { hint: 'Load the model once online first', details: { repo, revision: config.revision, missing } },
    );
  }

  const sizes = new Map<string, number | undefined>();
  for (const t of todo) {
    const head = await hubFetch(
      config,
      t.url,
      { method: 'HEAD', headers: authHeaders(config.token) },
      signal,
    );
    if (!head.ok) {
      const error = hubErrorFromResponse(head, t.url, {
        repo,
        path: t.path,
        revision: commit,
        hadToken: config.token !== undefined,
        endpoint: config.endpoint,
      });
      if (t.optional && error.details.hubErrorCode === 'EntryNotFound') {
        await cache?.put(t.url, new Response('', { headers: { [NO_EXIST_HEADER]: '1' } }));
        result.missing.push(t.path);
        continue;
      }
      throw error;
    }
    const length = head.headers.get('content-length');
    sizes.set(t.path, length === null ? undefined : Number(length));
  }
  for (const h of hits) progress.add(h.path, h.size);
  for (const [path, size] of sizes) progress.add(path, size);
  for (const h of hits) {
    result.files[h.path] = h;
    progress.done(h.path, h.size);
  }

  for (const t of todo) {
    if (!sizes.has(t.path)) continue;
    const chunks: Uint8Array[] = [];
    let held = 0;
    await downloadResumable(config, {
      url: t.url,
      headers: authHeaders(config.token),
      expectedSize: sizes.get(t.path),
      sink: {
        size: () => held,
        write: (c) => {
          chunks.push(c);
          held += c.byteLength;
        },
        reset: () => {
          chunks.length = 0;
          held = 0;
        },
      },
      ctx: { repo, revision: commit, path: t.path },
      ...(signal ? { signal } : {}),
      onBytes: (loaded, total) => progress.update(t.path, loaded, total),
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
    });
    const bytes = new Uint8Array(held);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
    chunks.length = 0;
    await cache?.put(
      t.url,
      new Response(bytes, {
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(bytes.byteLength),
          'x-repo-commit': commit,
        },
      }),
    );
    result.files[t.path] = {
      path: t.path,
      url: t.url,
      size: bytes.byteLength,
      fromCache: false,
      bytes: async () => (cache ? readCached(cache, t.url, t.path) : bytes),
    };
    progress.done(t.path, bytes.byteLength);
  }
  return result;
}

async function readCached(cache: CacheLike | null, url: string, path: string): Promise<Uint8Array> {
  const hit = await cache?.match(url);
  if (!hit) {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `${path} was evicted from the browser cache`, {
      hint: 'Load the model again; the browser frees cached files when storage runs low',
      details: { url },
    });
  }
  return new Uint8Array(await hit.arrayBuffer());
}

/** Removes every cached file of a repo (all commits) and its remembered revisions. */
export async function clearCachedRepo(
  cache: CacheLike & { keys(): Promise<readonly { url: string }[]> },
  repo: string,
  options: Pick<HubOptions, 'endpoint' | 'env'> = {},
): Promise<number> {
  const endpoint = resolveEndpoint(options);
  const prefixes = [`${endpoint}/${repo}/resolve/`, `${endpoint}/api/models/${repo}/revision/`];
  let removed = 0;
  for (const req of await cache.keys()) {
    if (prefixes.some((p) => req.url.startsWith(p)) && (await cache.delete(req.url))) removed++;
  }
  return removed;
}
