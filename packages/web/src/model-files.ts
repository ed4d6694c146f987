import type { ModelFiles } from '@pali/core';
import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';
import type { HubFileSpec, HubProgressEvent } from '@pali/hub';
import { ProgressTracker } from '@pali/hub';
import { type CacheLike, fetchModelFiles } from '@pali/hub/browser';
import type { LocalFile } from './types.js';

/** A model folder the web runtime can read bytes from, as well as the core's JSON access. */
export interface WebModelFiles extends ModelFiles {
  bytes(path: string): Promise<Uint8Array>;
}

const decoder = new TextDecoder();

export async function openCache(name: string | null | undefined): Promise<CacheLike | null> {
  if (name === null) return null;
  const storage = (globalThis as { caches?: { open(n: string): Promise<CacheLike> } }).caches;
  return storage ? storage.open(name ?? 'pali-models') : null;
}

async function fetchOk(url: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, ...(signal ? { signal } : {}) });
  } catch (cause) {
    throwIfAborted(signal, 'download');
    throw new PaliError(ERROR_CODES.NETWORK_ERROR, `Could not fetch ${url}`, {
      hint: 'Check the URL, the network and the server’s CORS headers',
      cause,
      details: { url },
    });
  }
  return response;
}

/** Reads a body with progress callbacks; the whole file is held in memory (the Cache API cannot append). */
async function readBody(
  response: Response,
  onBytes: (loaded: number) => void,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(await response.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  try {
    for (;;) {
      throwIfAborted(signal, 'download');
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      onBytes(loaded);
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throwIfAborted(signal, 'download');
    throw new PaliError(ERROR_CODES.NETWORK_ERROR, `The download of ${response.url} was cut`, {
      hint: 'Try again; files already complete stay cached',
      cause: error,
    });
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export interface UrlFolder extends WebModelFiles {
  /** Downloads (with progress) and caches the files not yet cached; missing optional files are skipped. */
  prefetch(
    files: readonly HubFileSpec[],
    onProgress?: (e: HubProgressEvent) => void,
    signal?: AbortSignal,
  ): Promise<void>;
}

/** A model folder served over HTTP at `base`, each file kept in the Cache API under its URL. */
export function urlFolder(base: string, cache: CacheLike | null, signal?: AbortSignal): UrlFolder {
  const root = base.endsWith('/') ? base : `${base}/`;
  const url = (path: string) => new URL(path, root).href;
  const memory = new Map<string, Uint8Array>();
  const known = new Map<string, boolean>();

  async function cached(path: string): Promise<Uint8Array | undefined> {
    const held = memory.get(path);
    if (held) return held;
    const hit = await cache?.match(url(path));
    return hit ? new Uint8Array(await hit.arrayBuffer()) : undefined;
  }

  async function download(path: string, onBytes: (n: number) => void): Promise<Uint8Array> {
    const response = await fetchOk(url(path), {}, signal);
    if (!response.ok) {
      throw new PaliError(ERROR_CODES.NOT_FOUND, `${url(path)} answered ${response.status}`, {
        hint: 'Check that the base URL points at a model folder (config.json, tokenizer.json, onnx/)',
        details: { url: url(path), status: response.status },
      });
    }
    const bytes = await readBody(response, onBytes, signal);
    if (cache) {
      await cache.put(
        url(path),
        new Response(bytes as Uint8Array<ArrayBuffer>, {
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) },
        }),
      );
    } else {
      memory.set(path, bytes);
    }
    known.set(path, true);
    return bytes;
  }

  const folder: UrlFolder = {
    location: root,
    async exists(path) {
      const k = known.get(path);
      if (k !== undefined) return k;
      let found = memory.has(path) || (await cache?.match(url(path))) !== undefined;
      if (!found) found = (await fetchOk(url(path), { method: 'HEAD' }, signal)).ok;
      known.set(path, found);
      return found;
    },
    async readText(path) {
      return decoder.decode(await folder.bytes(path));
    },
    async bytes(path) {
      return (await cached(path)) ?? download(path, () => undefined);
    },
    async prefetch(files, onProgress, sig) {
      const tracker = new ProgressTracker(onProgress);
      const todo: { path: string; size: number | undefined }[] = [];
      for (const spec of files) {
        const path = typeof spec === 'string' ? spec : spec.path;
        const optional = typeof spec !== 'string' && spec.optional === true;
        throwIfAborted(sig, 'download');
        const hit = (await cache?.match(url(path))) ?? undefined;
        if (hit) {
          const size = Number(hit.headers.get('content-length') ?? 0);
          await hit.body?.cancel();
          tracker.add(path, size);
          tracker.done(path, size);
          continue;
        }
        const head = await fetchOk(url(path), { method: 'HEAD' }, sig);
        if (!head.ok) {
          known.set(path, false);
          if (optional) continue;
          throw new PaliError(ERROR_CODES.NOT_FOUND, `${url(path)} answered ${head.status}`, {
            hint: 'Check that the base URL points at a model folder with this dtype',
            details: { url: url(path), status: head.status },
          });
        }
        const length = head.headers.get('content-length');
        const size = length === null ? undefined : Number(length);
        tracker.add(path, size);
        todo.push({ path, size });
      }
      for (const t of todo) {
        const bytes = await download(t.path, (n) => tracker.update(t.path, n, t.size));
        tracker.done(t.path, bytes.byteLength);
      }
    },
  };
  return folder;
}

/** The path of a picked file inside the model folder (the picked directory's own name dropped). */
function localPath(entry: LocalFile | File): string {
  const file = 'file' in entry ? entry.file : entry;
  const given = 'file' in entry ? entry.path : undefined;
  if (given) return given.replace(/^\/+/, '');
  const relative = file.webkitRelativePath ?? '';
  if (relative.includes('/')) return relative.slice(relative.indexOf('/') + 1);
  const name = file.name ?? '';
  // Files picked one by one (no folder): ONNX files belong under onnx/.
  return /\.onnx(_data)?$/.test(name) ? `onnx/${name}` : name;
}

/** A model folder picked by the user (File objects from a file or directory picker). */
export function localFolder(entries: readonly (LocalFile | File)[]): WebModelFiles {
  const byPath = new Map<string, Blob>();
  for (const e of entries) byPath.set(localPath(e), 'file' in e ? e.file : e);
  // A folder picked one level too high (models/my-model/config.json): strip the extra prefix.
  if (!byPath.has('config.json')) {
    const config = [...byPath.keys()].find((p) => p.endsWith('/config.json'));
    if (config) {
      const prefix = config.slice(0, -'config.json'.length);
      for (const [p, f] of [...byPath]) {
        byPath.delete(p);
        if (p.startsWith(prefix)) byPath.set(p.slice(prefix.length), f);
      }
    }
  }
  const get = (path: string): Blob => {
    const f = byPath.get(path);
    if (!f) {
      throw new PaliError(ERROR_CODES.NOT_FOUND, `The picked files have no ${path}`, {
        hint: 'Pick the whole model folder (config.json, tokenizer.json and onnx/)',
        details: { path },
      });
    }
    return f;
  };
  return {
    location: `${byPath.size} picked files`,
    exists: async (path) => byPath.has(path),
    readText: (path) => get(path).text(),
    bytes: async (path) => new Uint8Array(await get(path).arrayBuffer()),
  };
}

/** Files of a Hub repo fetched ahead (fetchModelFiles keeps them in the Cache API). */
export async function hubFolder(
  repo: string,
  specs: readonly HubFileSpec[],
  options: Parameters<typeof fetchModelFiles>[2],
): Promise<WebModelFiles & { commit: string }> {
  const result = await fetchModelFiles(repo, specs, options);
  const get = (path: string) => {
    const f = result.files[path];
    if (!f) throw new PaliError(ERROR_CODES.NOT_FOUND, `${repo} has no ${path}`, { details: { path } });
    return f;
  };
  return {
    location: `${repo}@${result.commit.slice(0, 12)}`,
    commit: result.commit,
    exists: async (path) => path in result.files,
    readText: async (path) => decoder.decode(await get(path).bytes()),
    bytes: (path) => get(path).bytes(),
  };
}
