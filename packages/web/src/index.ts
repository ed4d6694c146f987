export type {
  DetectResult,
  GenerateChunk,
  GenerateRequest,
  GenerateResult,
  GenerationOptions,
  SegmentObject,
  SegmentResult,
  TextResult,
} from '@pali/core';
export { InThreadEngine } from './in-thread-engine.js';
export { describeSource, loadPaliGemma, resolveSource } from './load.js';
export { webMaskDecoder } from './mask-decoder.js';
export type { UrlFolder, WebModelFiles } from './model-files.js';
export { hubFolder, localFolder, openCache, urlFolder } from './model-files.js';
export type { CallMethod, FromWorker, MessagePortLike, ToWorker, WireError } from './protocol.js';
export { fromWireError, toWireError } from './protocol.js';
export type {
  Backend,
  EngineInfo,
  LoadProgress,
  LocalFile,
  ModelSource,
  PaliEngine,
  TaskName,
  TaskRequest,
  TaskResult,
  WebImage,
  WebLoadOptions,
  WebLoadSettings,
} from './types.js';
export type { WebRuntime } from './web-runtime.js';
export { chooseBackend, webRuntime } from './web-runtime.js';
export type { WorkerEngineOptions } from './worker-engine.js';
export { createWorkerEngine, WorkerEngine } from './worker-engine.js';
export type { EngineLoader } from './worker-server.js';
export { serveEngine } from './worker-server.js';

import { loadPaliGemma } from './load.js';
/** PaliGemma 2 in the browser, in this thread: `const pg = await PaliGemma.load('onnx-community/…')`. */
export const PaliGemma = { load: loadPaliGemma };
