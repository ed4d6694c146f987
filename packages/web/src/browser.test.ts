import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import {
  FIXTURE_MODELS,
  FIXTURES_DIR,
  fixtureModelDir,
  fixturePath,
  goldenCases,
  goldenTensor,
  readFixtureJson,
  readGoldenManifest,
} from '@pali/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Browser,
  bundle,
  bundleScript,
  hasChromium,
  ORT_DIST,
  openChromium,
  type StaticServer,
  serveStatic,
} from './testing/index.js';

const title = hasChromium
  ? 'the same in headless Chromium: wasm in a Web Worker'
  : 'the same in headless Chromium (SKIPPED: /usr/bin/chromium is missing; apt-get install chromium)';

const PAGE = `
import { createWorkerEngine, webMaskDecoder } from './index.ts';
globalThis.paliWeb = {
  load: (source, options) => createWorkerEngine(new Worker('/worker.js', { type: 'module' }), source, options),
  webMaskDecoder,
};
`;

/** HF generated with eos_token_id=[]: our generation stops at the model's eos, so compare up to it. */
function expectedUntilEos(tokens: Int32Array, eos: readonly number[]): number[] {
  const out: number[] = [];
  for (const t of tokens) {
    out.push(t);
    if (eos.includes(t)) break;
  }
  return out;
}

interface CaseRun {
  prompts: string[];
  images: string[];
}

describe.skipIf(!hasChromium)(title, () => {
  const work = mkdtempSync(join(tmpdir(), 'pali-web-'));
  let server: StaticServer;
  let browser: Browser;

  beforeAll(async () => {
    for (const model of FIXTURE_MODELS)
      await convertCheckpoint(fixtureModelDir(model), join(work, model), { overwrite: true });
    const { worker } = await bundle({ worker: join(import.meta.dirname, 'worker.ts') });
    const page = await bundleScript(PAGE, import.meta.dirname);
    server = await serveStatic({
      '/': '<!doctype html><meta charset="utf-8"><title>pali web test</title><script type="module" src="/page.js"></script>',
      '/page.js': page,
      '/worker.js': worker!,
      '/ort/': { dir: ORT_DIST },
      '/models/': { dir: work },
      '/fixtures/': { dir: FIXTURES_DIR },
    });
    browser = await openChromium();
    await browser.page.goto(`${server.origin}/`);
    await browser.page.waitForFunction(() => 'paliWeb' in globalThis);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it.each(FIXTURE_MODELS)(
    '%s: every golden greedy case gives the HF tokens (= the Node result), loaded from a URL into the Cache API',
    async (model) => {
      const manifest = readGoldenManifest();
      const imageUrl = (name: string) => `/fixtures/${manifest.images.find((i) => i.name === name)!.file}`;
      const cases: CaseRun[] = goldenCases(model).map((c) => ({
        prompts: c.prompts,
        images: c.images.map(imageUrl),
      }));
      const out = await browser.page.evaluate(
        async ({ model, cases, origin }) => {
          const { paliWeb } = globalThis as unknown as {
            paliWeb: {
              load: (
                s: string,
                o: object,
              ) => Promise<{
                info: { backend: string; runtime: string; threads?: number };
                run: (r: object) => Promise<{ tokens: number[]; text: string; finishReason: string }[]>;
                dispose: () => Promise<void>;
              }>;
            };
          };
          const stages = new Set<string>();
          const sessions: string[] = [];
          const engine = await paliWeb.load(`/models/${model}/`, {
            backend: 'wasm',
            wasmPaths: `${origin}/ort/`,
            onProgress: (e: { stage: string; file?: string }) => {
              stages.add(e.stage);
              if (e.stage === 'session' && e.file) sessions.push(e.file);
            },
          });
          const results = [];
          for (const c of cases)
            results.push(await engine.run({ image: c.images, prompt: c.prompts, maxNewTokens: 24 }));
          const info = engine.info;
          await engine.dispose();
          return {
            results,
            info,
            stages: [...stages],
            sessions,
            isolated: crossOriginIsolated,
            cached: (await (await caches.open('pali-models')).keys()).map((r) => new URL(r.url).pathname),
          };
        },
        { model, cases, origin: server.origin },
      );
      expect(out.isolated).toBe(true);
      expect(out.info).toMatchObject({ backend: 'wasm', threads: 2 });
      expect(out.stages).toEqual(expect.arrayContaining(['download', 'session', 'backend']));
      expect(out.cached).toEqual(
        expect.arrayContaining([`/models/${model}/onnx/decoder_model_merged.onnx_data`]),
      );
      // The decoder runs as the folder's step graph (on the decoder's data): its cache stays in our
      // buffers, with no GroupQueryAttention.
      expect(out.sessions).toContain('onnx/decoder_step.onnx');
      expect(out.sessions).not.toContain('onnx/decoder_model_merged.onnx');
      const eosId = JSON.parse(
        readFileSync(join(work, model, 'generation_config.json'), 'utf8'),
      ).eos_token_id;
      const eosList: number[] = Array.isArray(eosId) ? eosId : [eosId];
      goldenCases(model).forEach((c, k) => {
        const tokens = goldenTensor(c.tensors.tokens!).data as Int32Array;
        out.results[k]!.forEach((r, row) => {
          const expected = expectedUntilEos(tokens.subarray(row * 24, (row + 1) * 24), eosList);
          expect(r.tokens, `${model}/${c.case} row ${row}`).toEqual(expected);
          expect(r.finishReason).toBe(expected.length < 24 ? 'eos' : 'length');
        });
      });
    },
    60_000,
  );

  it('a second load reads the Cache API only; a missing folder and cancelling keep their codes across the worker', async () => {
    const before = server.requests.length;
    const out = await browser.page.evaluate(
      async ({ origin }) => {
        const { paliWeb } = globalThis as unknown as {
          paliWeb: {
            load: (
              s: string,
              o: object,
            ) => Promise<{
              generate: (r: object) => AsyncGenerator<{ index: number }>;
              dispose: () => Promise<void>;
            }>;
          };
        };
        const settings = { backend: 'wasm', wasmPaths: `${origin}/ort/` };
        const engine = await paliWeb.load('/models/tiny-3b/', settings);
        const controller = new AbortController();
        let seen = 0;
        let cancelled: unknown;
        try {
          for await (const chunk of engine.generate({
            image: '/fixtures/images/big-160x120.png',
            prompt: 'caption en',
            maxNewTokens: 20,
            signal: controller.signal,
          })) {
            seen++;
            if (chunk.index === 1) controller.abort();
          }
        } catch (e) {
          cancelled = { name: (e as Error).name, code: (e as { code: string }).code };
        }
        await engine.dispose();
        const missing = await paliWeb.load('/models/nowhere/', settings).then(
          () => undefined,
          (e: { name: string; code: string; message: string }) => ({
            name: e.name,
            code: e.code,
            message: e.message,
          }),
        );
        return { seen, cancelled, missing };
      },
      { origin: server.origin },
    );
    const gets = server.requests.slice(before).filter((r) => r.startsWith('GET /models/tiny-3b/'));
    expect(gets).toEqual([]);
    expect(out.cancelled).toEqual({ name: 'PaliError', code: 'ABORTED' });
    expect(out.seen).toBeLessThanOrEqual(3);
    expect(out.missing).toMatchObject({ name: 'PaliError', code: 'NOT_FOUND' });
    expect(out.missing?.message).toMatch(/nowhere\/config\.json answered 404/);
  }, 60_000);

  it('segment: the VQ-VAE from a URL gives the golden mask logits in the page, and a worker engine loaded with it segments', async () => {
    const cases = readFixtureJson<{ codes: number[][] }>('vqvae/cases.json');
    const golden = readFileSync(fixturePath('vqvae/logits.bin'));
    const goldenLogits = new Float32Array(
      golden.buffer.slice(golden.byteOffset, golden.byteOffset + golden.byteLength),
    );
    const out = await browser.page.evaluate(
      async ({ codes, origin }) => {
        const { paliWeb } = globalThis as unknown as {
          paliWeb: {
            webMaskDecoder: (
              url: string,
              cache: null,
              signal: undefined,
              settings: object,
            ) => Promise<{
              decode: (c: number[][]) => Promise<Float32Array[]>;
              release: () => Promise<void>;
            }>;
            load: (
              s: string,
              o: object,
            ) => Promise<{
              info: { hasMaskDecoder: boolean };
              streamTask: (
                r: object,
              ) => AsyncGenerator<unknown, { task: string; objects?: unknown[]; text: string }>;
              dispose: () => Promise<void>;
            }>;
          };
        };
        const decoder = await paliWeb.webMaskDecoder('/fixtures/vqvae/vae-tiny.npz', null, undefined, {
          wasmPaths: `${origin}/ort/`,
        });
        const logits = (await decoder.decode(codes)).map((l) => Array.from(l));
        await decoder.release();
        const engine = await paliWeb.load('/models/tiny-3b/', {
          backend: 'wasm',
          wasmPaths: `${origin}/ort/`,
          vae: '/fixtures/vqvae/vae-tiny.npz',
        });
        const it = engine.streamTask({
          task: 'segment',
          image: '/fixtures/images/photo-96x72.jpg',
          labels: 'cat',
          maxNewTokens: 24,
        });
        let next = await it.next();
        while (!next.done) next = await it.next();
        const info = engine.info;
        await engine.dispose();
        return { logits, info, result: next.value };
      },
      { codes: cases.codes, origin: server.origin },
    );
    let worst = 0;
    out.logits.forEach((l, i) => {
      const want = goldenLogits.subarray(i * 4096, (i + 1) * 4096);
      let maxAbs = 0;
      let maxErr = 0;
      for (let k = 0; k < want.length; k++) {
        maxAbs = Math.max(maxAbs, Math.abs(want[k]!));
        maxErr = Math.max(maxErr, Math.abs(want[k]! - l[k]!));
      }
      worst = Math.max(worst, maxErr / maxAbs);
    });
    expect(out.logits.length).toBe(cases.codes.length);
    console.log(`[vqvae parity in Chromium] worst max abs err / max abs = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
    expect(out.info.hasMaskDecoder).toBe(true);
    expect(out.result.task).toBe('segment');
    expect(Array.isArray(out.result.objects)).toBe(true);
  }, 60_000);

  it('WebGPU smoke test (SwiftShader): auto skips the software adapter for wasm; webgpu runs or fails typed', async () => {
    const gpu = await openChromium({ webgpu: true });
    try {
      await gpu.page.goto(`${server.origin}/`);
      await gpu.page.waitForFunction(() => 'paliWeb' in globalThis);
      const out = await gpu.page.evaluate(
        async ({ origin }) => {
          const { paliWeb } = globalThis as unknown as {
            paliWeb: {
              load: (
                s: string,
                o: object,
              ) => Promise<{
                info: { backend: string; fallbackReason?: string };
                run: (r: object) => Promise<{ tokens: number[] }[]>;
                dispose: () => Promise<void>;
              }>;
            };
          };
          const adapter = await (
            navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }
          ).gpu?.requestAdapter();
          const image = new ImageData(new Uint8ClampedArray(32 * 32 * 4).fill(128), 32, 32);
          const results: Record<string, unknown> = { adapter: adapter != null };
          for (const backend of ['auto', 'webgpu']) {
            try {
              const engine = await paliWeb.load('/models/tiny-3b/', { backend, wasmPaths: `${origin}/ort/` });
              const [r] = await engine.run({ image, prompt: 'caption en', maxNewTokens: 3 });
              results[backend] = { info: engine.info, tokens: r!.tokens.length };
              await engine.dispose();
            } catch (e) {
              results[backend] = { error: (e as { code?: string }).code };
            }
          }
          return results;
        },
        { origin: server.origin },
      );
      expect(out.adapter).toBe(true);
      expect(out.auto).toMatchObject({
        info: { backend: 'wasm', fallbackReason: 'the WebGPU adapter is a software one' },
        tokens: 3,
      });
      // Tokens are not compared on SwiftShader; it must run (on WebGPU, or on wasm from the first
      // component WebGPU cannot load, with the reason recorded) or fail as a RUNTIME_ERROR.
      const webgpu = out.webgpu as { info?: { backend: string; fallbackReason?: string }; error?: string };
      if (webgpu.error) expect(webgpu.error).toBe('RUNTIME_ERROR');
      else if (webgpu.info?.backend === 'wasm')
        expect(webgpu.info.fallbackReason).toMatch(/WebGPU could not run/);
      else expect(webgpu.info?.backend).toBe('webgpu');
      console.log(`[webgpu smoke on SwiftShader] ${JSON.stringify(out.webgpu)}`);
    } finally {
      await gpu.close();
    }
  }, 60_000);
});
