import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

/** A route: bytes or text served at one path, or a folder (index.html for '…/') under a prefix ending in '/'. */
export type Route = string | Uint8Array | { dir: string };

export interface StaticServer {
  origin: string;
  /** Every request as "METHOD /path", in order. */
  requests: string[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
};

/** Cross-origin isolated (COOP/COEP), so that wasm threads (SharedArrayBuffer) work. */
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Serves `routes` on 127.0.0.1 at a random port; GET and HEAD, with Content-Length. */
export async function serveStatic(routes: Record<string, Route>): Promise<StaticServer> {
  const requests: string[] = [];
  const lookup = (path: string): { body: Uint8Array | string; type: string } | undefined => {
    const exact = routes[path === '' ? '/' : path];
    if (exact !== undefined && !(typeof exact === 'object' && 'dir' in exact)) {
      return {
        body: exact,
        type: TYPES[extname(path)] ?? (path.endsWith('/') ? TYPES['.html']! : 'application/octet-stream'),
      };
    }
    // The longest matching prefix wins ('/models/' before '/').
    const prefixes = Object.entries(routes).sort(([a], [b]) => b.length - a.length);
    for (const [prefix, route] of prefixes) {
      if (!prefix.endsWith('/') || !path.startsWith(prefix) || typeof route !== 'object' || !('dir' in route))
        continue;
      const rest = path.slice(prefix.length);
      const file = normalize(join(route.dir, rest === '' || rest.endsWith('/') ? `${rest}index.html` : rest));
      if (!file.startsWith(normalize(route.dir)) || !existsSync(file) || !statSync(file).isFile())
        return undefined;
      return { body: readFileSync(file), type: TYPES[extname(file)] ?? 'application/octet-stream' };
    }
    return undefined;
  };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname);
    requests.push(`${request.method} ${path}`);
    const found = lookup(path);
    if (!found) {
      response.writeHead(404, ISOLATION).end();
      return;
    }
    const body = typeof found.body === 'string' ? Buffer.from(found.body) : found.body;
    response.writeHead(200, {
      ...ISOLATION,
      'Content-Type': found.type,
      'Content-Length': String(body.byteLength),
      'Cache-Control': 'no-store',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
