export type { BlockQuantized, BlockwiseLayout, BlockwiseOptions } from './blockwise.js';
export { blockwiseLayout, blockZeroPoint, dequantizeBlockwise, quantizeBlockwise } from './blockwise.js';
export type { Shape2D } from './check.js';
export type { EmbeddingDims, TiedEmbedding } from './embedding.js';
export { tiedEmbedding } from './embedding.js';
export { castOnce, toFloat16 } from './float16.js';
export type { AccuracyLevel, EmbeddingFormat, ModelDType, WeightFormat } from './formats.js';
export {
  computeDType,
  embeddingFormat,
  isModelDType,
  linearFormat,
  MODEL_DTYPES,
  withBlockSize,
} from './formats.js';
export type { BlockwiseInitializers, LinearDims } from './initializers.js';
export { blockwiseWeight, floatTable, floatWeight, nf4Weight, perChannelWeight } from './initializers.js';
export type { WeightSource } from './lazy.js';
export { sharedLazy, transpose2d } from './lazy.js';
export type { LinearOptions } from './linear.js';
export { linear } from './linear.js';
export type { LogitsComparison, RelativeError, SequenceAgreement } from './metrics.js';
export { compareLogits, relativeError, sequenceAgreement, topK, topKAgreement } from './metrics.js';
export type { Nf4Quantized } from './nf4.js';
export { dequantizeNf4, NF4_CODE, nf4Code, quantizeNf4 } from './nf4.js';
export type { MatMulBnb4Options } from './ops.js';
export { matMulBnb4 } from './ops.js';
export type { PerChannelOptions, PerChannelQuantized } from './per-channel.js';
export { dequantizePerChannel, quantizePerChannel, roundHalfEven } from './per-channel.js';
export { weightBytes } from './sizes.js';
