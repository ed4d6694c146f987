import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { FIXTURES } from './fixtures.js';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));

/** The core and the browser decoder bundled as the browser gets them; exposed as globalThis.pali. */
export async function bundleForBrowser(): Promise<string> {
  const result = await build({
    stdin: {
      contents: [
        "import * as core from './src/index.ts';",
        "import { decodeImage } from './src/browser/index.ts';",
        'globalThis.pali = { ...core, decodeImage };',
      ].join('\n'),
      resolveDir: PACKAGE,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export interface BrowserSession {
  page: Page;
  origin: string;
  close: () => Promise<void>;
}

/** A page on 127.0.0.1 (random port, COOP/COEP) with the bundle loaded and fixtures/ served. */
export async function openBrowser(bundle: string): Promise<BrowserSession> {
  const html = '<!doctype html><meta charset="utf-8"><script type="module" src="/bundle.js"></script>';
  const server: Server = createServer((request, response) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/') {
      response.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(html);
    } else if (url.pathname === '/bundle.js') {
      response.writeHead(200, { ...headers, 'Content-Type': 'text/javascript' }).end(bundle);
    } else if (url.pathname.startsWith('/fixtures/')) {
      const path = normalize(join(FIXTURES, decodeURIComponent(url.pathname.slice('/fixtures/'.length))));
      if (!path.startsWith(FIXTURES) || !existsSync(path)) {
        response.writeHead(404, headers).end();
        return;
      }
      response
        .writeHead(200, { ...headers, 'Content-Type': 'application/octet-stream' })
        .end(readFileSync(path));
    } else {
      response.writeHead(404, headers).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const profile = mkdtempSync(join(tmpdir(), 'pali-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => 'pali' in globalThis);
    const ctx = context;
    return {
      page,
      origin,
      close: async () => {
        await ctx.close();
        server.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await context?.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}
