export type { ImageFeatures, TensorConstructor } from './runner.js';
export { VisionEncoder } from './runner.js';
export type { VisionGraphOptions } from './vision-graph.js';
export { buildVisionGraph, PROJECTOR, VISION_IO, VISION_PREFIX } from './vision-graph.js';
