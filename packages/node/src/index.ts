import type { PaliGemma as CorePaliGemma } from '@pali/core';
import type { NodeImage } from './load.js';
import { loadPaliGemma } from './load.js';

export type {
  DetectResult,
  GenerateChunk,
  GenerateRequest,
  GenerateResult,
  GenerationOptions,
  TextResult,
} from '@pali/core';
export { fsModelFiles } from './fs-model-files.js';
export type { LoadProgress, NodeImage, NodeLoadOptions, ResolvedSource } from './load.js';
export { loadPaliGemma, maskDecoder, resolveSource } from './load.js';
export type { ExecutionProvider, NodeRuntimeOptions } from './node-runtime.js';
export { nodeRuntime, supportedExecutionProviders } from './node-runtime.js';

/** PaliGemma 2 in Node: `const pg = await PaliGemma.load('onnx-community/paligemma2-3b-pt-224', { dtype: 'q4' })`. */
export const PaliGemma = { load: loadPaliGemma };
export type PaliGemma = CorePaliGemma<NodeImage>;
