export type { DecodeOptions, ImageDataLike, ImageInput } from '../input.js';
export { decodeBytes, decodeImage, readImageBytes } from './decode.js';
