export type {
  DecoderPrompt,
  DecoderRunnerOptions,
  Embedder,
  PromptParts,
  TensorClass,
} from './decoder-runner.js';
export { DecoderRunner } from './decoder-runner.js';
export * from './generation/index.js';
export type { DecoderGraphOptions } from './graph/decoder-graph.js';
export { buildDecoderGraph, DECODER_IO, TEXT_PREFIX } from './graph/decoder-graph.js';
export { buildEmbedGraph, EMBED_IO } from './graph/embed-graph.js';
export { ropeTables } from './graph/rope.js';
