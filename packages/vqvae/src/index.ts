export { buildMaskDecoderGraph, MASK_DECODER_IO } from './decoder-graph.js';
export type { OverlayObject, OverlayOptions, Rgb } from './overlay.js';
export { drawMasksAndBoxes, OVERLAY_PALETTE } from './overlay.js';
export type { PixelBox, PlacedMask } from './place-mask.js';
export { placeMask, resizeBilinearF32, SEGMENTATION_LOC_DIVISOR, segmentationBox } from './place-mask.js';
export type { Int64TensorConstructor } from './runner.js';
export { MaskDecoder } from './runner.js';
export type { ConvWeights, VqvaeWeights } from './weights.js';
export {
  CODEBOOK_SIZE,
  CODES_PER_MASK,
  EMBEDDING,
  MASK_SIDE,
  RES_BLOCKS,
  UPSAMPLES,
  vqvaeWeights,
} from './weights.js';
