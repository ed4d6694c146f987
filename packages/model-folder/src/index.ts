export type { WeightProvider } from './checkpoint.js';
export {
  canonicalTensorName,
  checkpointWeights,
  expectedCheckpointTensors,
  validateCheckpoint,
} from './checkpoint.js';
export type { Gemma2Config, PaliGemmaConfig, SiglipVisionConfig } from './config.js';
export { parsePaliGemmaConfig } from './config.js';
export type { GenerationConfig } from './generation-config.js';
export { parseGenerationConfig } from './generation-config.js';
export { GraphWeights } from './graph-weights.js';
export { JsonFields } from './json-fields.js';
export type { Component, DtypeChoice, ModelDtype, PaliFolderInfo } from './layout.js';
export {
  COMPONENTS,
  componentDtype,
  DTYPE_SUFFIX,
  externalDataPath,
  FOLDER_FILES,
  FOLDER_JSON_FILES,
  HUB_REPO_ID,
  isModelDtype,
  MODEL_DTYPES,
  onnxPath,
  PALI_CONFIG_KEY,
  parseModelDtype,
  prefillPartPath,
  prefillPath,
  stepPath,
  VISION_PREFILL_PATH,
} from './layout.js';
export type { PreprocessorConfig, ResampleName } from './preprocessor-config.js';
export { PIL_RESAMPLE, parsePreprocessorConfig } from './preprocessor-config.js';
