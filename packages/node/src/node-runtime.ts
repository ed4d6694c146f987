import { join } from 'node:path';
import type { Runtime } from '@pali/core';
import { ERROR_CODES, PaliError } from '@pali/errors';
import * as ort from 'onnxruntime-node';

export type ExecutionProvider = 'cpu' | 'cuda' | 'coreml' | 'dml' | 'webgpu';

export interface NodeRuntimeOptions {
  /** Intra-op threads (default: ORT's choice, one per physical core). */
  threads?: number;
  /** Execution providers in order of preference (default ['cpu']). */
  executionProviders?: readonly ExecutionProvider[];
  /** ORT graph optimisation level (default 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** The execution providers this onnxruntime-node build can run. */
export function supportedExecutionProviders(): string[] {
  const list = (ort as unknown as { listSupportedBackends?: () => { name: string }[] }).listSupportedBackends;
  return list ? list().map((b) => b.name) : ['cpu'];
}

/** onnxruntime-node over one model folder: sessions from file paths (external data found beside them). */
export function nodeRuntime(root: string, options: NodeRuntimeOptions = {}): Runtime {
  const providers = [...(options.executionProviders ?? ['cpu'])];
  const supported = supportedExecutionProviders();
  for (const ep of providers) {
    if (!supported.includes(ep)) {
      throw new PaliError(
        ERROR_CODES.RUNTIME_ERROR,
        `This onnxruntime-node has no ${ep} execution provider`,
        {
          hint: `Available here: ${supported.join(', ')}. GPU providers need the matching onnxruntime-node build and drivers`,
          details: { requested: ep, supported },
        },
      );
    }
  }
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: providers,
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
  };
  return {
    Tensor: ort.Tensor,
    name: `onnxruntime-node ${ort.env.versions?.common ?? ''} (${providers.join(', ')})`.replace('  ', ' '),
    // On CPU, ONNX Runtime maps external initializers from their file (other providers copy them).
    mapsExternalData: providers.length === 1 && providers[0] === 'cpu',
    async createSession(file, { prepack = true } = {}) {
      const path = join(root, file);
      try {
        return await ort.InferenceSession.create(
          path,
          prepack ? sessionOptions : { ...sessionOptions, extra: { session: { disable_prepacking: '1' } } },
        );
      } catch (cause) {
        throw new PaliError(
          ERROR_CODES.RUNTIME_ERROR,
          `ONNX Runtime could not load ${path}: ${(cause as Error).message}`,
          {
            hint: 'The file may be truncated (download it again) or need a newer onnxruntime-node',
            cause,
          },
        );
      }
    },
  };
}
