export { EmbeddingTable } from './embedding-table.js';
export type { LoadOptions, ModelParts } from './model-parts.js';
export { availableDtypes, chooseDtypes, loadModelParts } from './model-parts.js';
export { masksFromText, PaliGemma } from './pali-gemma.js';
export type {
  DetectResult,
  FinishReason,
  GenerateChunk,
  GenerateRequest,
  GenerateResult,
  GenerationOptions,
  MaskCodeDecoder,
  SegmentObject,
  SegmentResult,
  TextResult,
} from './requests.js';
export type { ImageDecoder, ModelFiles, RangeReader, Runtime, SessionFileOptions } from './runtime.js';
export { StopStringFilter } from './stop-strings.js';
export { IdleOpener, TransientSession } from './transient-session.js';
