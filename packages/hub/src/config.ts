import { ERROR_CODES, PaliError } from '@pali/errors';

/** The public Hub; `HF_ENDPOINT` or the `endpoint` option points elsewhere (a mirror, a test server). */
export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

const COMMIT_HASH = /^[0-9a-f]{40}$/;
// What the Hub accepts as a repo id: an optional namespace and a name, no '..' nor '--' at the ends.
const REPO_ID = /^(?:[A-Za-z0-9][A-Za-z0-9._-]*\/)?[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Environment variables read; injectable so tests and browsers need no `process`. */
export type HubEnv = Readonly<Record<string, string | undefined>>;

/** Options shared by every entry (platform-free, Node cache, browser Cache API). */
export interface HubOptions {
  /** Branch, tag or 40-hex commit. Default `main`. */
  revision?: string;
  /** Hub base URL. Default: `HF_ENDPOINT`, else https://huggingface.co. */
  endpoint?: string;
  /** Access token for gated or private repos. Default: `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`. */
  token?: string;
  /** Never touch the network; serve from the cache only. Default: `HF_HUB_OFFLINE=1`. */
  offline?: boolean;
  /** Cancels metadata requests and downloads; a cancelled download stays resumable. */
  signal?: AbortSignal;
  /** Progress per file, with the aggregate over all files of the call. */
  onProgress?: (event: HubProgressEvent) => void;
  /** The fetch to use (a proxy, a test double). Default: the global fetch. */
  fetch?: typeof fetch;
  /** Environment to read HF_* variables from. Default: `process.env` where there is one. */
  env?: HubEnv;
}

export interface HubProgressEvent {
  /** Repo-relative path of the file this event is about. */
  file: string;
  /** Bytes of this file on hand (including bytes resumed from an earlier attempt). */
  loaded: number;
  /** Size of this file, when the server said. */
  total: number | undefined;
  /** Sum over every file of the call (cached ones count as loaded from the start). */
  overall: { loaded: number; total: number | undefined; files: number; filesDone: number };
}

/** A file the caller needs; `optional` ones may be missing from the repo without an error. */
export type HubFileSpec = string | { path: string; optional?: boolean };

export interface ResolvedHubConfig {
  endpoint: string;
  token: string | undefined;
  offline: boolean;
  revision: string;
  fetch: typeof fetch;
}

function defaultEnv(): HubEnv {
  const proc = (globalThis as { process?: { env?: HubEnv } }).process;
  return proc?.env ?? {};
}

/** True for values Python's huggingface_hub reads as true (`1`, `ON`, `YES`, `TRUE`). */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(value.trim().toUpperCase());
}

/** Options over environment over defaults, the same precedence as Python's huggingface_hub. */
export function resolveHubConfig(options: HubOptions = {}): ResolvedHubConfig {
  const env = options.env ?? defaultEnv();
  const endpoint = resolveEndpoint(options);
  const token = options.token ?? (env.HF_TOKEN || undefined) ?? (env.HUGGING_FACE_HUB_TOKEN || undefined);
  const revision = options.revision ?? DEFAULT_REVISION;
  validateRevision(revision);
  const f = options.fetch ?? (globalThis.fetch as typeof fetch | undefined);
  if (!f) {
    throw new PaliError(ERROR_CODES.UNSUPPORTED, 'No fetch() in this runtime', {
      hint: 'Use Node >= 20 or pass the fetch option',
    });
  }
  return { endpoint, token, offline: options.offline ?? envFlag(env.HF_HUB_OFFLINE), revision, fetch: f };
}

/** The endpoint option, else `HF_ENDPOINT`, else https://huggingface.co; without a trailing slash. */
export function resolveEndpoint(options: Pick<HubOptions, 'endpoint' | 'env'> = {}): string {
  const env = options.env ?? defaultEnv();
  const endpoint = (options.endpoint ?? (env.HF_ENDPOINT || undefined) ?? DEFAULT_ENDPOINT).replace(
    /\/+$/,
    '',
  );
  try {
    new URL(endpoint);
  } catch (cause) {
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `Hub endpoint ${JSON.stringify(endpoint)} is not a URL`,
      {
        hint: 'Set HF_ENDPOINT (or the endpoint option) to a full URL such as https://huggingface.co',
        cause,
      },
    );
  }
  return endpoint;
}

export function isCommitHash(revision: string): boolean {
  return COMMIT_HASH.test(revision);
}

/** Throws INVALID_ARGUMENT unless `repo` looks like `org/name` (or a legacy bare `name`). */
export function validateRepoId(repo: string): void {
  if (!REPO_ID.test(repo) || repo.includes('--') || repo.includes('..') || repo.endsWith('.')) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${JSON.stringify(repo)} is not a Hub repo id`, {
      hint: 'Use the form org/name, e.g. onnx-community/paligemma2-3b-pt-224',
    });
  }
}

/** A revision becomes a file name under refs/: no empty parts, no '..', no backslashes. */
export function validateRevision(revision: string): void {
  const parts = revision.split('/');
  if (revision === '' || revision.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${JSON.stringify(revision)} is not a revision`, {
      hint: 'Use a branch, a tag or a 40-hex commit hash',
    });
  }
}

/** A repo path is joined onto the cache folder: reject anything that could escape it. */
export function validateRepoPath(path: string): void {
  const parts = path.split('/');
  if (
    path === '' ||
    path.startsWith('/') ||
    path.includes('\\') ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  ) {
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `${JSON.stringify(path)} is not a file path inside a repo`,
      {
        hint: 'Use a relative path with forward slashes, e.g. onnx/decoder_model_merged_q4.onnx',
      },
    );
  }
}

export function normalizeFileSpecs(files: readonly HubFileSpec[]): { path: string; optional: boolean }[] {
  if (files.length === 0) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'No files asked for', {
      hint: 'Pass the repo paths to fetch, e.g. ["config.json", "tokenizer.json"]',
    });
  }
  const seen = new Set<string>();
  const out: { path: string; optional: boolean }[] = [];
  for (const f of files) {
    const spec =
      typeof f === 'string' ? { path: f, optional: false } : { path: f.path, optional: !!f.optional };
    validateRepoPath(spec.path);
    if (seen.has(spec.path)) continue;
    seen.add(spec.path);
    out.push(spec);
  }
  return out;
}
