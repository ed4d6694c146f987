export type { BlockQuantized, BlockwiseLayout, BlockwiseOptions } from './blockwise.js';
export { blockwiseLayout, blockZeroPoint, dequantizeBlockwise, quantizeBlockwise } from './blockwise.js';
export type { Shape2D } from './check.js';
export type { Nf4Quantized } from './nf4.js';
export { dequantizeNf4, NF4_CODE, nf4Code, quantizeNf4 } from './nf4.js';
export type { PerChannelOptions, PerChannelQuantized } from './per-channel.js';
export { dequantizePerChannel, quantizePerChannel, roundHalfEven } from './per-channel.js';
