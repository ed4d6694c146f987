import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Hugging Face Hub on 127.0.0.1 for tests: the URL layout and headers that huggingface_hub
 * (Python) and @huggingface/hub depend on, read from their sources (file_download.py:
 * get_hf_file_metadata, http_get; utils/_http.py: hf_raise_for_status):
 * - `HEAD|GET /{repo}/resolve/{rev}/{path}`: `X-Repo-Commit`; a regular file answers 200 with
 *   `ETag: "{git blob sha1}"`; an LFS file answers 302 to a CDN URL on this server with
 *   `X-Linked-Etag: "{sha256}"` and `X-Linked-Size` (the CDN is this server named `localhost`). Bodies honour `Range` (206, 416).
 * - `GET /api/models/{repo}[/revision/{rev}]`: JSON with `sha` and `siblings`.
 * - Errors as the Hub sends them: 401 + `X-Error-Code: RepoNotFound` for an unknown repo without a
 *   token (404 with one), 404 `RevisionNotFound`/`EntryNotFound`, gated repos 401 `GatedRepo`
 *   without a token, 403 `GatedRepo` with a token that has not accepted, 401 `Invalid credentials
 *   in Authorization header` for an unknown token.
 * Plus test switches: cut a body after N bytes, slow bodies down, and a log of every request.
 */

export interface FakeFile {
  content: Uint8Array;
  /** Served like a Git LFS file (302 to the CDN). Default: .onnx, .onnx_data, .safetensors, .bin. */
  lfs: boolean;
}

export type FakeFileInput = string | Uint8Array | { content: string | Uint8Array; lfs?: boolean };

export interface FakeRepoOptions {
  /** Gated like google/* repos: files need a token in `acceptedTokens`. */
  gated?: boolean;
  /** Tokens whose owner accepted the licence (also added to the server's valid tokens). */
  acceptedTokens?: string[];
  /** Branch (or tag) the first commit is reached by. Default `main`. */
  branch?: string;
}

export interface LoggedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: Record<string, string | undefined>;
}

interface FakeRepo {
  gated: boolean;
  accepted: Set<string>;
  refs: Map<string, string>;
  commits: Map<string, Map<string, FakeFile>>;
}

interface Cut {
  path: string | undefined;
  afterBytes: number;
  times: number;
}

const LFS_EXT = /\.(onnx|onnx_data|safetensors|bin|gguf)$/;

/** The id git gives a file's contents: what the Hub sends as ETag for regular files. */
export function gitBlobSha1(content: Uint8Array): string {
  return createHash('sha1').update(`blob ${content.byteLength}\0`).update(content).digest('hex');
}

export function sha256Hex(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

function toFile(path: string, input: FakeFileInput): FakeFile {
  const raw = typeof input === 'string' || input instanceof Uint8Array ? { content: input } : input;
  const content = typeof raw.content === 'string' ? new TextEncoder().encode(raw.content) : raw.content;
  const lfs = 'lfs' in raw && raw.lfs !== undefined ? raw.lfs : LFS_EXT.test(path);
  return { content, lfs };
}

export class FakeHub {
  readonly requests: LoggedRequest[] = [];
  readonly #repos = new Map<string, FakeRepo>();
  readonly #validTokens = new Set<string>();
  readonly #blobs = new Map<string, { content: Uint8Array; path: string }>();
  #cuts: Cut[] = [];
  readonly #corrupt = new Set<string>();
  #chunkSize = 64 * 1024;
  #chunkDelayMs = 0;
  #server: Server | undefined;
  #url = '';

  /** Base URL once started, e.g. http://127.0.0.1:41234 (use it as HF_ENDPOINT). */
  get url(): string {
    if (!this.#url) throw new Error('FakeHub.start() first');
    return this.#url;
  }

  /**
   * Where LFS redirects point: this same server under the name `localhost`, a host other than the
   * endpoint's, as the real CDN is. Clients then read the metadata off the 302 and drop the token.
   */
  get cdnUrl(): string {
    return this.url.replace('//127.0.0.1:', '//localhost:');
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'x-error-message': String(error) });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.#url;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.#server = undefined;
  }

  /** A token the Hub knows (it may still not have accepted a gated licence). */
  addToken(token: string): void {
    this.#validTokens.add(token);
  }

  /** Creates a repo with one commit; returns the commit sha. */
  addRepo(id: string, files: Record<string, FakeFileInput>, options: FakeRepoOptions = {}): string {
    const repo: FakeRepo = {
      gated: !!options.gated,
      accepted: new Set(options.acceptedTokens ?? []),
      refs: new Map(),
      commits: new Map(),
    };
    for (const t of repo.accepted) this.#validTokens.add(t);
    this.#repos.set(id, repo);
    return this.addCommit(id, files, options.branch ?? 'main');
  }

  /** Adds a commit (the full file set) and points `branch` at it; returns its sha. */
  addCommit(id: string, files: Record<string, FakeFileInput>, branch = 'main'): string {
    const repo = this.#repos.get(id);
    if (!repo) throw new Error(`no repo ${id}`);
    const tree = new Map<string, FakeFile>();
    const hash = createHash('sha1').update(`${id}\n`);
    for (const [path, input] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const file = toFile(path, input);
      tree.set(path, file);
      hash.update(`${path}\0${gitBlobSha1(file.content)}\n`);
      if (file.lfs) this.#blobs.set(sha256Hex(file.content), { content: file.content, path });
    }
    const sha = hash.digest('hex');
    repo.commits.set(sha, tree);
    repo.refs.set(branch, sha);
    return sha;
  }

  /** The next `times` GET bodies (of `path`, or any) stop after `afterBytes` bytes: the socket is destroyed. */
  cutNextBody(afterBytes: number, options: { path?: string; times?: number } = {}): void {
    this.#cuts.push({ path: options.path, afterBytes, times: options.times ?? 1 });
  }

  /** Sends bodies in chunks of `chunkSize` bytes with `delayMs` between them (to cancel mid-body). */
  setBodyPace(chunkSize: number, delayMs: number): void {
    this.#chunkSize = chunkSize;
    this.#chunkDelayMs = delayMs;
  }

  /** The next GET body of `path` has its first byte flipped (a corrupted transfer of the right size). */
  corruptNextBody(path: string): void {
    this.#corrupt.add(path);
  }

  clearLog(): void {
    this.requests.length = 0;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    this.requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers });
    const url = new URL(req.url ?? '/', this.#url);
    const segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const auth = req.headers.authorization?.match(/^Bearer (.+)$/)?.[1];

    if (segments[0] === 'cdn-lfs' && segments[1]) {
      const blob = this.#blobs.get(segments[1]);
      if (!blob) return this.#error(res, 404, undefined, 'Not found');
      // The repo path, so that cutNextBody({ path }) reaches the CDN leg of an LFS file too.
      return this.#sendBody(req, res, blob.content, { etag: `"${segments[1]}"` }, blob.path);
    }
    if (segments[0] === 'api' && segments[1] === 'models') {
      const id = segments.slice(2, 4).join('/');
      const isRevision = segments[4] === 'revision';
      const rev = isRevision ? segments.slice(5).join('/') : 'main';
      const found = this.#access(res, id, rev, auth, isRevision);
      if (!found) return;
      const { repo, sha } = found;
      const siblings = [...(repo.commits.get(sha)?.keys() ?? [])].map((rfilename) => ({ rfilename }));
      const body = JSON.stringify({
        _id: id,
        id,
        modelId: id,
        sha,
        private: false,
        gated: repo.gated ? 'manual' : false,
        siblings,
      });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const resolveAt = segments.indexOf('resolve');
    if (resolveAt === 2 && segments.length >= 5) {
      const id = segments.slice(0, 2).join('/');
      // The revision is one URL segment (refs/pr/1 comes %2F-encoded); the rest is the file path.
      const rev = segments[3] ?? '';
      const path = segments.slice(4).join('/');
      const found = this.#access(res, id, rev, auth, true);
      if (!found) return;
      const { repo, sha } = found;
      const file = repo.commits.get(sha)?.get(path);
      if (!file) return this.#error(res, 404, 'EntryNotFound', 'Entry not found', { 'x-repo-commit': sha });
      if (file.lfs) {
        const oid = sha256Hex(file.content);
        const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${file.content.byteLength}\n`;
        res.writeHead(302, {
          location: `${this.cdnUrl}/cdn-lfs/${oid}?X-Amz-Signature=fake`,
          'x-repo-commit': sha,
          'x-linked-etag': `"${oid}"`,
          'x-linked-size': String(file.content.byteLength),
          etag: `"${gitBlobSha1(new TextEncoder().encode(pointer))}"`,
          'content-length': '0',
        });
        res.end();
        return;
      }
      return this.#sendBody(
        req,
        res,
        file.content,
        { etag: `"${gitBlobSha1(file.content)}"`, 'x-repo-commit': sha },
        path,
      );
    }
    this.#error(res, 404, undefined, 'Not found');
  }

  /** Repo, revision and gate checks in the Hub's order; answers the error itself and returns undefined. */
  #access(
    res: ServerResponse,
    id: string,
    rev: string,
    auth: string | undefined,
    gatedEndpoint: boolean,
  ): { repo: FakeRepo; sha: string } | undefined {
    if (auth !== undefined && !this.#validTokens.has(auth)) {
      this.#error(res, 401, undefined, 'Invalid credentials in Authorization header');
      return undefined;
    }
    const repo = this.#repos.get(id);
    if (!repo) {
      // The Hub answers 401 to anonymous callers so as not to reveal private repos.
      this.#error(res, auth ? 404 : 401, 'RepoNotFound', 'Repository not found');
      return undefined;
    }
    if (repo.gated && gatedEndpoint) {
      if (auth === undefined) {
        this.#error(
          res,
          401,
          'GatedRepo',
          `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        );
        return undefined;
      }
      if (!repo.accepted.has(auth)) {
        this.#error(
          res,
          403,
          'GatedRepo',
          `Access to model ${id} is restricted and you are not in the authorized list. Visit ${this.#url}/${id} to ask for access.`,
        );
        return undefined;
      }
    }
    const sha = repo.refs.get(rev) ?? (repo.commits.has(rev) ? rev : undefined);
    if (!sha) {
      this.#error(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      return undefined;
    }
    return { repo, sha };
  }

  #error(
    res: ServerResponse,
    status: number,
    code: string | undefined,
    message: string,
    extra: Record<string, string> = {},
  ): void {
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-error-message': message,
      ...extra,
    };
    if (code) headers['x-error-code'] = code;
    res.writeHead(status, headers);
    res.end(JSON.stringify({ error: message }));
  }

  async #sendBody(
    req: IncomingMessage,
    res: ServerResponse,
    content: Uint8Array,
    headers: Record<string, string>,
    path: string,
  ): Promise<void> {
    const size = content.byteLength;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = req.headers.range?.match(/^bytes=(\d*)-(\d*)$/);
    if (range) {
      const [, a = '', b = ''] = range;
      if (a === '') {
        start = Math.max(0, size - Number(b));
      } else {
        start = Number(a);
        if (b !== '') end = Math.min(end, Number(b));
      }
      if (start >= size || start > end) {
        res.writeHead(416, { 'content-range': `bytes */${size}`, ...headers });
        res.end();
        return;
      }
      status = 206;
    }
    let body = content.subarray(start, end + 1);
    if (req.method !== 'HEAD' && this.#corrupt.delete(path) && body.byteLength > 0) {
      body = body.slice();
      body[0] = (body[0] ?? 0) ^ 0xff;
    }
    res.writeHead(status, {
      ...headers,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      'content-length': String(body.byteLength),
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const cut = this.#cuts.find((c) => c.path === undefined || path.endsWith(c.path));
    const limit = cut ? Math.min(cut.afterBytes, body.byteLength) : body.byteLength;
    if (cut && --cut.times <= 0) this.#cuts = this.#cuts.filter((c) => c !== cut);
    for (let at = 0; at < limit; at += this.#chunkSize) {
      const chunk = body.subarray(at, Math.min(limit, at + this.#chunkSize));
      await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
      if (this.#chunkDelayMs > 0) await new Promise((r) => setTimeout(r, this.#chunkDelayMs));
      if (res.destroyed) return;
    }
    if (cut) {
      // FIN, not RST: an RST would make the client drop bytes it has received but not yet read.
      res.socket?.end();
      return;
    }
    res.end();
  }
}
