import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** onnxruntime-web's dist folder: serve it and pass its URL as `wasmPaths`. */
export const ORT_DIST = dirname(
  createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm'),
);

const WEB_SRC = fileURLToPath(new URL('../', import.meta.url));

/**
 * Bundles entry points for the browser as an app would: sources of the workspace packages, and
 * onnxruntime-web loading its wasm and glue from `wasmPaths` (so its threads can start).
 */
export async function bundle(entries: Record<string, string>): Promise<Record<string, string>> {
  const result = await build({
    entryPoints: entries,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source', 'onnxruntime-web-use-extern-wasm'],
    write: false,
    outdir: '/out',
    logLevel: 'silent',
  });
  const out: Record<string, string> = {};
  for (const file of result.outputFiles)
    out[file.path.slice('/out/'.length).replace(/\.js$/, '')] = file.text;
  return out;
}

/** One script given as source text (imports resolved from `resolveDir`), bundled. */
export async function bundleScript(contents: string, resolveDir: string): Promise<string> {
  const result = await build({
    stdin: { contents, resolveDir, loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source', 'onnxruntime-web-use-extern-wasm'],
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** The @pali/web worker entry, bundled. */
export async function bundleWorker(): Promise<string> {
  return (await bundle({ worker: join(WEB_SRC, 'worker.ts') })).worker!;
}

export interface Browser {
  page: Page;
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Headless Chromium (the system's) on a fresh profile. Default: no GPU, so WebGPU has no adapter;
 * `webgpu: true` gives it SwiftShader's software adapter (smoke tests only: several ops are wrong there).
 */
export async function openChromium(options: { webgpu?: boolean } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'pali-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      ...(options.webgpu
        ? ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader']
        : ['--disable-gpu']),
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    page,
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
