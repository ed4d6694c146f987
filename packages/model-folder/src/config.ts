import { ERROR_CODES, PaliError } from '@pali/errors';
import { JsonFields } from './json-fields.js';

/** The Gemma 2 decoder's configuration (config.json → text_config), with HF Gemma2Config defaults. */
export interface Gemma2Config {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  queryPreAttnScalar: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  slidingWindow: number;
  attnLogitSoftcapping: number | null;
  finalLogitSoftcapping: number | null;
  hiddenActivation: string;
}

/** The SigLIP vision tower's configuration (config.json → vision_config). */
export interface SiglipVisionConfig {
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numChannels: number;
  imageSize: number;
  patchSize: number;
  layerNormEps: number;
  hiddenAct: string;
}

export interface PaliGemmaConfig {
  imageTokenIndex: number;
  /** Width of the projector's output; equals textConfig.hiddenSize in every PaliGemma 2. */
  projectionDim: number;
  /** Image tokens per image: (imageSize / patchSize)². */
  numImageTokens: number;
  textConfig: Gemma2Config;
  visionConfig: SiglipVisionConfig;
  /** The raw JSON, kept so that a converted folder can write it back unchanged. */
  raw: Record<string, unknown>;
}

/**
 * Parses a PaliGemma config.json. Absent fields take the defaults HF transformers uses (Gemma2Config,
 * SiglipVisionConfig, PaliGemmaConfig), because the Hub's files leave many of them out.
 */
export function parsePaliGemmaConfig(json: unknown, where = 'config.json'): PaliGemmaConfig {
  const f = JsonFields.of(json, where);
  const modelType = f.string('model_type', 'paligemma');
  if (modelType !== 'paligemma') {
    throw new PaliError(ERROR_CODES.UNSUPPORTED, `${where} describes a "${modelType}" model, not PaliGemma`, {
      hint: 'Use a PaliGemma or PaliGemma 2 checkpoint',
    });
  }
  const text = f.object('text_config') ?? JsonFields.of({}, `${where}.text_config`);
  const textType = text.string('model_type', 'gemma2');
  if (textType !== 'gemma2') {
    throw new PaliError(ERROR_CODES.UNSUPPORTED, `${where}: text_config.model_type is "${textType}"`, {
      hint: 'Only PaliGemma 2 (Gemma 2 decoder) checkpoints are supported; PaliGemma 1 uses Gemma 1',
    });
  }
  const hiddenSize = text.int('hidden_size', 2304);
  const numAttentionHeads = text.int('num_attention_heads', 8);
  const textConfig: Gemma2Config = {
    vocabSize: text.int('vocab_size', f.int('vocab_size', 257216)),
    hiddenSize,
    intermediateSize: text.int('intermediate_size', 9216),
    numHiddenLayers: text.int('num_hidden_layers', 26),
    numAttentionHeads,
    numKeyValueHeads: text.int('num_key_value_heads', 4),
    headDim: text.int('head_dim', 256),
    queryPreAttnScalar: text.number('query_pre_attn_scalar', 256),
    rmsNormEps: text.number('rms_norm_eps', 1e-6),
    ropeTheta: ropeTheta(text),
    maxPositionEmbeddings: text.int('max_position_embeddings', 8192),
    slidingWindow: text.int('sliding_window', 4096),
    attnLogitSoftcapping: text.has('attn_logit_softcapping') ? text.number('attn_logit_softcapping') : 50,
    finalLogitSoftcapping: text.has('final_logit_softcapping') ? text.number('final_logit_softcapping') : 30,
    hiddenActivation: text.string('hidden_activation', text.string('hidden_act', 'gelu_pytorch_tanh')),
  };
  // An explicit null soft-cap in the file turns it off, as in HF.
  if (text.raw('attn_logit_softcapping') === null) textConfig.attnLogitSoftcapping = null;
  if (text.raw('final_logit_softcapping') === null) textConfig.finalLogitSoftcapping = null;

  const vision = f.object('vision_config') ?? JsonFields.of({}, `${where}.vision_config`);
  const visionConfig: SiglipVisionConfig = {
    hiddenSize: vision.int('hidden_size', 1152),
    intermediateSize: vision.int('intermediate_size', 4304),
    numHiddenLayers: vision.int('num_hidden_layers', 27),
    numAttentionHeads: vision.int('num_attention_heads', 16),
    numChannels: vision.int('num_channels', 3),
    imageSize: vision.int('image_size', 224),
    patchSize: vision.int('patch_size', 14),
    layerNormEps: vision.number('layer_norm_eps', 1e-6),
    hiddenAct: vision.string('hidden_act', 'gelu_pytorch_tanh'),
  };
  const config: PaliGemmaConfig = {
    imageTokenIndex: f.int('image_token_index', f.int('image_token_id', 257152)),
    projectionDim: vision.int('projection_dim', f.int('projection_dim', hiddenSize)),
    numImageTokens: (visionConfig.imageSize / visionConfig.patchSize) ** 2,
    textConfig,
    visionConfig,
    raw: json as Record<string, unknown>,
  };
  validate(config, where);
  return config;
}

function ropeTheta(text: JsonFields): number {
  // transformers 5 may write rope_parameters: { rope_theta, rope_type } instead of rope_theta.
  const params = text.object('rope_parameters');
  if (params?.has('rope_theta')) return params.number('rope_theta');
  return text.number('rope_theta', 10000);
}

function validate(c: PaliGemmaConfig, where: string): void {
  const t = c.textConfig;
  const v = c.visionConfig;
  const problems: string[] = [];
  if (t.numAttentionHeads % t.numKeyValueHeads !== 0)
    problems.push(
      `num_attention_heads ${t.numAttentionHeads} is not a multiple of num_key_value_heads ${t.numKeyValueHeads}`,
    );
  if (t.headDim % 2 !== 0) problems.push(`head_dim ${t.headDim} is odd (RoPE needs pairs)`);
  if (v.imageSize % v.patchSize !== 0)
    problems.push(`image_size ${v.imageSize} is not a multiple of patch_size ${v.patchSize}`);
  if (v.hiddenSize % v.numAttentionHeads !== 0)
    problems.push(
      `vision hidden_size ${v.hiddenSize} is not a multiple of num_attention_heads ${v.numAttentionHeads}`,
    );
  if (c.projectionDim !== t.hiddenSize)
    problems.push(`projection_dim ${c.projectionDim} differs from the decoder's hidden_size ${t.hiddenSize}`);
  if (c.imageTokenIndex < 0 || c.imageTokenIndex >= t.vocabSize)
    problems.push(`image_token_index ${c.imageTokenIndex} is outside the vocabulary (${t.vocabSize})`);
  if (problems.length > 0) {
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${where} is inconsistent: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
}
