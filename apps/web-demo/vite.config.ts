import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const ortDist = dirname(
  createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm'),
);

// onnxruntime-web loads its wasm and its glue (which starts the wasm threads) at run time from
// `wasmPaths`: the app serves them as plain files under /ort/.
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];
function copyOrt(): void {
  const out = join(here, 'public', 'ort');
  mkdirSync(out, { recursive: true });
  for (const f of ORT_FILES) if (!existsSync(join(out, f))) copyFileSync(join(ortDist, f), join(out, f));
}
copyOrt();

// Cross-origin isolation lets wasm use threads (SharedArrayBuffer).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// The workspace packages are used from their TypeScript sources (`source` condition), so the demo
// runs without building them first; onnxruntime-web as the build that fetches its wasm from /ort/.
const conditions = ['source', 'onnxruntime-web-use-extern-wasm', ...defaultClientConditions];

export default defineConfig({
  base: './',
  resolve: { conditions },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { headers: isolation, host: '127.0.0.1' },
  preview: { headers: isolation, host: '127.0.0.1' },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
});
