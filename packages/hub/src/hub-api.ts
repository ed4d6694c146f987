import { ERROR_CODES, PaliError } from '@pali/errors';
import type { ResolvedHubConfig } from './config.js';
import { abortError, hubErrorFromResponse, isAbortLike, networkError } from './errors.js';

/** `{endpoint}/{repo}/resolve/{revision}/{path}`: the URL Python's hf_hub_url builds. */
export function resolveUrl(endpoint: string, repo: string, revision: string, path: string): string {
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
}

/** `{endpoint}/api/models/{repo}/revision/{revision}`: the model-info call snapshot_download makes. */
export function revisionApiUrl(endpoint: string, repo: string, revision: string): string {
  return `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** What a HEAD on a resolve URL tells, read as huggingface_hub's get_hf_file_metadata does. */
export interface HubFileMetadata {
  /** `X-Repo-Commit`: the commit the revision resolved to. */
  commit: string;
  /** `X-Linked-Etag` (LFS: the sha256) or `ETag` (git blob sha), without quotes or `W/`. */
  etag: string;
  /** `X-Linked-Size`, else `Content-Length` of a non-redirect answer. */
  size: number | undefined;
  /** Where to GET the bytes: the CDN `Location` of a redirect, else the resolve URL. */
  location: string;
}

export interface RequestContext {
  repo: string;
  path?: string;
  revision: string;
}

/** Strips `W/` and quotes so the etag can name a blob file (Python's _normalize_etag). */
export function normalizeEtag(etag: string | null): string | undefined {
  if (etag === null) return undefined;
  return etag.replace(/^W\//, '').replace(/^"+|"+$/g, '');
}

/** One fetch with typed errors for "no answer" and "cancelled". */
export async function hubFetch(
  config: ResolvedHubConfig,
  url: string,
  init: RequestInit,
  signal: AbortSignal | undefined,
): Promise<Response> {
  if (config.offline) {
    // A guard, not a path: offline callers must never get here.
    throw new PaliError(
      ERROR_CODES.NETWORK_ERROR,
      `Offline mode is on but ${url} was about to be requested`,
      {
        hint: 'This is a bug; please report it',
        details: { url },
      },
    );
  }
  if (signal?.aborted) throw abortError(signal, 'download');
  try {
    return await config.fetch(url, { ...init, ...(signal ? { signal } : {}) });
  } catch (cause) {
    if (isAbortLike(cause, signal)) throw abortError(signal, 'download');
    throw networkError(url, cause);
  }
}

/** Redirects that stay on the endpoint's host (renamed repos) are the Hub's; others go to a CDN. */
function isSameHost(url: string, target: string): boolean {
  return new URL(url).hostname.toLowerCase() === new URL(target).hostname.toLowerCase();
}

/**
 * HEAD the resolve URL without following the CDN redirect, so the Hub's own headers (commit, linked
 * etag and size) are read from the 302. Redirects to the same host (renamed repos) are followed, as
 * Python's _httpx_follow_hub_redirects does. Browsers hide a manual redirect's headers: the browser
 * entry does not use this.
 */
export async function fetchFileMetadata(
  config: ResolvedHubConfig,
  ctx: RequestContext & { path: string },
  signal?: AbortSignal,
): Promise<HubFileMetadata> {
  let url = resolveUrl(config.endpoint, ctx.repo, ctx.revision, ctx.path);
  const headers = { ...authHeaders(config.token), 'accept-encoding': 'identity' };
  for (let hops = 0; hops < 5; hops++) {
    const response = await hubFetch(config, url, { method: 'HEAD', headers, redirect: 'manual' }, signal);
    const location = response.headers.get('location');
    const isRedirect = response.status >= 300 && response.status < 400 && location !== null;
    if (isRedirect && isSameHost(url, new URL(location, url).toString())) {
      url = new URL(location, url).toString();
      continue;
    }
    if (!isRedirect && !response.ok) {
      throw hubErrorFromResponse(response, url, {
        ...ctx,
        hadToken: config.token !== undefined,
        endpoint: config.endpoint,
      });
    }
    const commit = response.headers.get('x-repo-commit');
    const etag = normalizeEtag(response.headers.get('x-linked-etag') ?? response.headers.get('etag'));
    if (!commit || !etag) {
      throw new PaliError(
        ERROR_CODES.NETWORK_ERROR,
        `${url} answered without ${commit ? 'an ETag' : 'an X-Repo-Commit header'}, so it is not a Hugging Face Hub`,
        { hint: 'Check HF_ENDPOINT and any proxy between you and the Hub', details: { url } },
      );
    }
    const sizeHeader =
      response.headers.get('x-linked-size') ?? (isRedirect ? null : response.headers.get('content-length'));
    const size = sizeHeader === null ? undefined : Number.parseInt(sizeHeader, 10);
    return {
      commit,
      etag,
      size: size !== undefined && Number.isFinite(size) ? size : undefined,
      location: isRedirect ? new URL(location, url).toString() : url,
    };
  }
  throw new PaliError(ERROR_CODES.NETWORK_ERROR, `Too many redirects from ${url}`, { details: { url } });
}

export interface HubRevisionInfo {
  /** The commit the revision points to. */
  sha: string;
  /** Repo-relative paths of every file at that commit, when the server listed them. */
  files: string[] | undefined;
}

/** GET /api/models/{repo}/revision/{rev}: one request that turns a branch or tag into a commit. */
export async function fetchRevisionInfo(
  config: ResolvedHubConfig,
  ctx: RequestContext,
  signal?: AbortSignal,
): Promise<HubRevisionInfo> {
  const url = revisionApiUrl(config.endpoint, ctx.repo, ctx.revision);
  const response = await hubFetch(config, url, { headers: authHeaders(config.token) }, signal);
  if (!response.ok) {
    throw hubErrorFromResponse(response, url, {
      ...ctx,
      hadToken: config.token !== undefined,
      endpoint: config.endpoint,
    });
  }
  let body: { sha?: unknown; siblings?: unknown };
  try {
    body = (await response.json()) as { sha?: unknown; siblings?: unknown };
  } catch (cause) {
    if (isAbortLike(cause, signal)) throw abortError(signal, 'download');
    throw new PaliError(ERROR_CODES.NETWORK_ERROR, `${url} did not answer JSON`, {
      hint: 'Check HF_ENDPOINT',
      cause,
      details: { url },
    });
  }
  if (typeof body.sha !== 'string' || !/^[0-9a-f]{40}$/.test(body.sha)) {
    throw new PaliError(ERROR_CODES.NETWORK_ERROR, `${url} answered without a commit sha`, {
      hint: 'Check HF_ENDPOINT',
      details: { url },
    });
  }
  const files = Array.isArray(body.siblings)
    ? body.siblings
        .map((s) => (s as { rfilename?: unknown }).rfilename)
        .filter((f): f is string => typeof f === 'string')
    : undefined;
  return { sha: body.sha, files };
}

/** Send the token to the download URL only when it is the Hub's own host, as Python does. */
export function downloadHeaders(config: ResolvedHubConfig, location: string): Record<string, string> {
  return isSameHost(config.endpoint, location) ? authHeaders(config.token) : {};
}
