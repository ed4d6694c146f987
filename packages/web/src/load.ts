import { PaliGemma as CorePaliGemma, chooseDtypes, type MaskCodeDecoder } from '@pali/core';
import { ERROR_CODES, isPaliError, PaliError, throwIfAborted } from '@pali/errors';
import type { HubFileSpec } from '@pali/hub';
import { decodeImage } from '@pali/image/browser';
import {
  COMPONENTS,
  componentDtype,
  externalDataPath,
  FOLDER_FILES,
  FOLDER_JSON_FILES,
  HUB_REPO_ID,
  onnxPath,
} from '@pali/model-folder';
import { InThreadEngine } from './in-thread-engine.js';
import { webMaskDecoder } from './mask-decoder.js';
import { hubFolder, localFolder, openCache, urlFolder, type WebModelFiles } from './model-files.js';
import type { Backend, ModelSource, PaliEngine, WebImage, WebLoadOptions } from './types.js';
import { chooseBackend, configureOrt, ort, webRuntime } from './web-runtime.js';

type Resolved =
  | { hub: string; revision?: string; endpoint?: string; token?: string }
  | { url: string }
  | { files: readonly unknown[] };

/** A string source: a URL or path is a served folder, `org/name` a Hub repo. */
export function resolveSource(source: ModelSource): Resolved {
  if (typeof source !== 'string') return source;
  if (/^(https?:|blob:)|^\.{0,2}\//.test(source)) return { url: source };
  if (HUB_REPO_ID.test(source)) return { hub: source };
  throw new PaliError(
    ERROR_CODES.INVALID_ARGUMENT,
    `${JSON.stringify(source)} is neither a Hub id nor a URL`,
    {
      hint: 'Give a Hub repo id such as onnx-community/paligemma2-3b-pt-224, or the base URL of a model folder',
    },
  );
}

export function describeSource(source: ModelSource): string {
  const r = resolveSource(source);
  if ('hub' in r) return `hub:${r.hub}${r.revision ? `@${r.revision}` : ''}`;
  if ('url' in r) return r.url;
  return `${r.files.length} local files`;
}

function onnxSpecs(
  dtypes: Record<(typeof COMPONENTS)[number], Parameters<typeof onnxPath>[1]>,
): HubFileSpec[] {
  return COMPONENTS.flatMap((c) => [
    { path: onnxPath(c, dtypes[c]) },
    { path: externalDataPath(c, dtypes[c]), optional: true },
  ]);
}

async function openFiles(source: ModelSource, options: WebLoadOptions): Promise<WebModelFiles> {
  const r = resolveSource(source);
  const cache = await openCache(options.cacheName);
  const onDownload = (e: Parameters<NonNullable<Parameters<typeof hubFolder>[2]>['onProgress'] & {}>[0]) =>
    options.onProgress?.({ stage: 'download', ...e });
  if ('files' in r) return localFolder(r.files as Parameters<typeof localFolder>[0]);
  if ('url' in r) {
    const base = new URL(r.url, (globalThis as { location?: { href: string } }).location?.href).href;
    const folder = urlFolder(base, cache, options.signal);
    await folder.prefetch(
      FOLDER_JSON_FILES.map((path) => ({ path, optional: path !== FOLDER_FILES.config })),
      undefined,
      options.signal,
    );
    const dtypes = await chooseDtypes(folder, options.dtype);
    await folder.prefetch(onnxSpecs(dtypes), onDownload, options.signal);
    return folder;
  }
  // The onnx-community layout: the JSON files and the chosen variant (default q4) of each component.
  const dtype = options.dtype ?? 'q4';
  const dtypes = Object.fromEntries(COMPONENTS.map((c) => [c, componentDtype(dtype, c)])) as Parameters<
    typeof onnxSpecs
  >[0];
  const folder = await hubFolder(
    r.hub,
    [
      ...FOLDER_JSON_FILES.map((path) => ({ path, optional: path !== FOLDER_FILES.config })),
      ...onnxSpecs(dtypes).map((s) => (typeof s === 'string' ? s : { ...s, optional: true })),
    ],
    {
      cache,
      onProgress: onDownload,
      ...(r.revision ? { revision: r.revision } : {}),
      ...(r.endpoint ? { endpoint: r.endpoint } : {}),
      ...(r.token ? { token: r.token } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  for (const c of COMPONENTS) {
    if (!(await folder.exists(onnxPath(c, dtypes[c])))) {
      throw new PaliError(ERROR_CODES.UNSUPPORTED, `${r.hub} has no ${onnxPath(c, dtypes[c])}`, {
        hint: 'The browser loads ONNX model folders (onnx-community layout); convert a safetensors checkpoint with `pali convert` and serve the folder, or pick a dtype the repo has',
      });
    }
  }
  return folder;
}

/**
 * Loads PaliGemma 2 in this thread: from a Hub id (files kept in the Cache API), the base URL of a
 * served model folder (also cached) or picked local files; WebGPU when available, else wasm. With
 * backend 'auto', a WebGPU load is checked with a one-token run and replaced by wasm if that fails
 * (a WebGPU kernel can refuse a node only when it runs).
 */
export async function loadPaliGemma(source: ModelSource, options: WebLoadOptions = {}): Promise<PaliEngine> {
  configureOrt(options);
  const files = await openFiles(source, options);
  throwIfAborted(options.signal, 'model loading');
  const choice = await chooseBackend(options.backend);
  const engine = await openEngine(source, files, choice, options);
  if (engine.info.backend !== 'webgpu' || options.backend === 'webgpu') return engine;
  try {
    const size = engine.info.imageSize;
    await engine.run({
      image: { width: size, height: size, data: new Uint8Array(size * size * 3) },
      prompt: engine.model.text.taskPrompt({ task: 'caption', lang: 'en' }),
      maxNewTokens: 1,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return engine;
  } catch (error) {
    await engine.dispose();
    if (isPaliError(error, 'ABORTED')) throw error;
    const reason = `WebGPU failed a test run (${(error as Error).message.slice(0, 200)})`;
    return openEngine(source, files, { backend: 'wasm', reason }, options);
  }
}

async function openEngine(
  source: ModelSource,
  files: WebModelFiles,
  choice: { backend: Backend; reason?: string },
  options: WebLoadOptions,
): Promise<InThreadEngine> {
  options.onProgress?.({
    stage: 'backend',
    backend: choice.backend,
    ...(choice.reason ? { reason: choice.reason } : {}),
  });
  const runtime = webRuntime(files, choice, (reason) =>
    options.onProgress?.({ stage: 'backend', backend: 'wasm', reason }),
  );
  const decode = (input: WebImage, signal?: AbortSignal) => decodeImage(input, signal ? { signal } : {});
  const pg = await CorePaliGemma.fromFolder<WebImage>(files, runtime, decode, {
    ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
    // onnxruntime-web 1.30 gives wrong tokens with GroupQueryAttention's shared (in-place) KV
    // buffer: the browser test caught it. A decoder_model_merged hands present to past instead; the
    // folder's step graph, when it has one, keeps the cache in our buffers (no GroupQueryAttention).
    kvCache: 'copy',
    // The int8 prefill graph is a second copy of the layer weights (~2 GB for 3B): not worth the
    // download and the tab's memory in a browser.
    prefill: 'off',
    onProgress: (e) => options.onProgress?.(e),
  });
  let masks: MaskCodeDecoder | undefined;
  try {
    throwIfAborted(options.signal, 'model loading');
    if (options.vae) {
      masks = await webMaskDecoder(options.vae, await openCache(options.cacheName), options.signal);
      pg.useMaskDecoder(masks);
    }
  } catch (error) {
    await pg.dispose();
    throw error;
  }
  return new InThreadEngine(
    pg,
    {
      backend: runtime.backend,
      ...(runtime.fallbackReason ? { fallbackReason: runtime.fallbackReason } : {}),
      runtime: runtime.name,
      threads: ort.env.wasm.numThreads ?? 1,
      source: describeSource(source),
      dtypes: pg.dtypes,
      imageSize: pg.config.visionConfig.imageSize,
      hasMaskDecoder: masks !== undefined,
    },
    decode,
    masks,
  );
}
