export type { ConvertOptions, ConvertProgress, ConvertResult } from './convert.js';
export { convertCheckpoint } from './convert.js';
