export type { DecodeOptions, ImageDataLike, ImageInput } from '../input.js';
export { decodeImage } from './decode.js';
