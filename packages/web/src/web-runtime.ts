import type { Runtime } from '@pali/core';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { decodeModelProto } from '@pali/onnx';
import * as ort from 'onnxruntime-web';
import type { WebModelFiles } from './model-files.js';
import type { Backend, WebLoadSettings } from './types.js';

interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; description?: string };
}
interface NavigatorGpu {
  gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> };
  hardwareConcurrency?: number;
}

/**
 * The backend 'auto' picks: WebGPU when the browser offers a hardware adapter, else wasm. Software
 * adapters (SwiftShader) are skipped: they are slow and got several of our ops wrong when measured.
 */
export async function chooseBackend(
  wanted: Backend | 'auto' | undefined,
): Promise<{ backend: Backend; reason?: string }> {
  if (wanted === 'wasm') return { backend: 'wasm' };
  const gpu = (globalThis.navigator as NavigatorGpu | undefined)?.gpu;
  let adapter: GpuAdapterLike | null = null;
  try {
    adapter = gpu ? await gpu.requestAdapter() : null;
  } catch {
    adapter = null;
  }
  const software =
    adapter !== null &&
    (adapter.isFallbackAdapter === true ||
      /swiftshader/i.test(
        `${adapter.info?.vendor} ${adapter.info?.architecture} ${adapter.info?.description}`,
      ));
  if (wanted === 'webgpu') {
    if (!adapter) return { backend: 'wasm', reason: 'this browser has no WebGPU adapter' };
    return { backend: 'webgpu' };
  }
  if (!adapter) return { backend: 'wasm', reason: gpu ? 'no WebGPU adapter' : 'no WebGPU in this browser' };
  if (software) return { backend: 'wasm', reason: 'the WebGPU adapter is a software one' };
  return { backend: 'webgpu' };
}

let configured = false;

/** ORT's wasm settings are global and read once, when the first session starts the wasm module. */
export function configureOrt(settings: WebLoadSettings): void {
  if (configured) return;
  configured = true;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const cores = (globalThis.navigator as NavigatorGpu | undefined)?.hardwareConcurrency ?? 1;
  ort.env.wasm.numThreads = isolated ? (settings.threads ?? Math.max(1, Math.min(4, cores))) : 1;
  ort.env.wasm.simd = true;
  if (settings.wasmPaths) ort.env.wasm.wasmPaths = settings.wasmPaths;
}

export interface WebRuntime extends Runtime {
  /** The backend sessions run on now (wasm after a WebGPU fallback). */
  readonly backend: Backend;
  readonly fallbackReason: string | undefined;
}

/** onnxruntime-web over a web model folder: sessions from bytes, external data passed by name. */
export function webRuntime(
  files: WebModelFiles,
  initial: { backend: Backend; reason?: string },
  onFallback?: (reason: string) => void,
): WebRuntime {
  let backend = initial.backend;
  let fallbackReason = initial.reason;
  const create = async (model: Uint8Array, externalData: { path: string; data: Uint8Array }[] | undefined) =>
    ort.InferenceSession.create(model, {
      executionProviders: [backend],
      graphOptimizationLevel: 'all',
      ...(externalData ? { externalData } : {}),
    });
  return {
    Tensor: ort.Tensor,
    get backend() {
      return backend;
    },
    get fallbackReason() {
      return fallbackReason;
    },
    get name() {
      return `onnxruntime-web ${ort.env.versions?.web ?? ''} (${backend})`;
    },
    async createSession(file, options) {
      const model = await files.bytes(file);
      // From bytes, ORT needs each external data file under the name the model's tensors point at
      // (a model may use another component's file, e.g. a tied embedding table).
      const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
      const names =
        externalLocations(model) ?? (options.externalData ? [options.externalData.split('/').pop()!] : []);
      const externalData = names.length
        ? await Promise.all(names.map(async (path) => ({ path, data: await files.bytes(dir + path) })))
        : undefined;
      let failure: unknown;
      try {
        return typedRuns(await create(model, externalData), file, backend);
      } catch (cause) {
        failure = cause;
      }
      if (backend === 'webgpu') {
        backend = 'wasm';
        fallbackReason = `WebGPU could not run ${file}: ${(failure as Error).message}`;
        onFallback?.(fallbackReason);
        try {
          return typedRuns(await create(model, externalData), file, backend);
        } catch (again) {
          failure = again;
        }
      }
      throw new PaliError(
        ERROR_CODES.RUNTIME_ERROR,
        `onnxruntime-web could not load ${files.location}/${file}: ${(failure as Error).message}`,
        {
          hint: 'The file may be truncated (clear the cache and load again) or need a newer onnxruntime-web',
          cause: failure,
        },
      );
    },
  };
}

/** Session runs that fail (an op the backend lacks, out of memory) throw RUNTIME_ERROR, not a bare Error. */
function typedRuns(session: ort.InferenceSession, file: string, backend: Backend): ort.InferenceSession {
  const run = session.run.bind(session) as (...args: unknown[]) => Promise<ort.InferenceSession.ReturnType>;
  (session as { run: unknown }).run = async (...args: unknown[]) => {
    try {
      return await run(...args);
    } catch (cause) {
      throw new PaliError(
        ERROR_CODES.RUNTIME_ERROR,
        `onnxruntime-web (${backend}) failed running ${file}: ${(cause as Error).message}`,
        {
          hint:
            backend === 'webgpu'
              ? "Load the model with backend: 'wasm'"
              : 'The browser may be out of memory: try a smaller dtype (q4) or close other tabs',
          cause,
        },
      );
    }
  };
  return session;
}

/** The external data files a model's initializers name; undefined when the model cannot be read here. */
export function externalLocations(model: Uint8Array): string[] | undefined {
  try {
    const proto = decodeModelProto(model);
    const out = new Set<string>();
    for (const t of proto.graph?.initializer ?? [])
      for (const e of t.externalData ?? []) if (e.key === 'location') out.add(e.value);
    return [...out];
  } catch {
    return undefined;
  }
}

/** A wasm session from bytes (the VQ-VAE mask decoder: small, convolutional, always on wasm). */
export function wasmSession(model: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
}

export { ort };
