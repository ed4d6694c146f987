export { byteOfToken, cleanUpTokenization } from './decode.js';
export type { DecodeOptions, Encoded, EncodeOptions, SpecialToken } from './gemma-tokenizer.js';
export { GemmaTokenizer } from './gemma-tokenizer.js';
export type {
  Box,
  DetectedObject,
  DetectionResult,
  ImageSize,
  ParseOptions,
  SegmentationResult,
  SegmentedObject,
  Skipped,
  SkipReason,
} from './loc-parser.js';
export {
  formatLocations,
  LOC_BINS,
  parseDetection,
  parseSegmentation,
  SEG_CODEBOOK,
  SEG_CODES,
} from './loc-parser.js';
export type { ModelTextInfo } from './model-info.js';
export { modelTextInfo } from './model-info.js';
export type { ModelTextFiles, PaliGemmaTextOptions } from './pali-text.js';
export { PaliGemmaText } from './pali-text.js';
export type { BatchOptions, EncodedBatch, EncodedPrompt, PromptInput, PromptOptions } from './prompt.js';
export { PromptBuilder } from './prompt.js';
export type { StreamOptions } from './stream.js';
export { StreamingDetokenizer } from './stream.js';
export type { TaskName, TaskPromptOptions, TaskRequest, TaskTemplates } from './task-prompts.js';
export {
  CONFIG_TEMPLATES_KEY,
  DEFAULT_TASK_TEMPLATES,
  TASK_NAMES,
  TaskPrompts,
  templatesFromConfig,
} from './task-prompts.js';
export type { TokenizerFiles } from './tokenizer-files.js';
