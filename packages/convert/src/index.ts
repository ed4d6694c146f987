export type { ConvertOptions, ConvertProgress, ConvertResult } from './convert.js';
export { convertCheckpoint } from './convert.js';
export type { LoraAdapter } from './lora.js';
export { readLoraAdapter } from './lora.js';
