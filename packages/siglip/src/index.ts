export type { ImageFeatures, TensorConstructor } from './runner.js';
export { VisionEncoder } from './runner.js';
export type { VisionGraphOptions } from './vision-graph.js';
export { buildVisionGraph, VISION_IO } from './vision-graph.js';
export type { WeightProvider } from './weights.js';
export { PROJECTOR_PREFIX, transpose2d, VISION_PREFIX } from './weights.js';
