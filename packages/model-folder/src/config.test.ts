import { isPaliError } from '@pali/errors';
import { describe, expect, it } from 'vitest';
import { parsePaliGemmaConfig } from './config.js';
import { parseGenerationConfig } from './generation-config.js';
import { externalDataPath, onnxPath, parseModelDtype } from './layout.js';
import { parsePreprocessorConfig } from './preprocessor-config.js';

// The shape of google/paligemma2-3b-pt-224's config.json: many fields left to HF's defaults.
const HUB_3B_224 = {
  architectures: ['PaliGemmaForConditionalGeneration'],
  bos_token_id: 2,
  eos_token_id: 1,
  hidden_size: 2048,
  image_token_index: 257152,
  model_type: 'paligemma',
  pad_token_id: 0,
  projection_dim: 2304,
  text_config: {
    hidden_activation: 'gelu_pytorch_tanh',
    hidden_size: 2304,
    intermediate_size: 9216,
    model_type: 'gemma2',
    num_attention_heads: 8,
    num_hidden_layers: 26,
    num_image_tokens: 256,
    num_key_value_heads: 4,
    vocab_size: 257216,
  },
  vision_config: {
    hidden_size: 1152,
    intermediate_size: 4304,
    model_type: 'siglip_vision_model',
    num_attention_heads: 16,
    num_hidden_layers: 27,
    num_image_tokens: 256,
    patch_size: 14,
    projection_dim: 2304,
    vision_use_head: false,
  },
};

describe('parsePaliGemmaConfig', () => {
  it('fills the fields the Hub leaves out with HF defaults', () => {
    const c = parsePaliGemmaConfig(HUB_3B_224);
    expect(c.textConfig).toMatchObject({
      hiddenSize: 2304,
      headDim: 256,
      queryPreAttnScalar: 256,
      numKeyValueHeads: 4,
      attnLogitSoftcapping: 50,
      finalLogitSoftcapping: 30,
      slidingWindow: 4096,
      ropeTheta: 10000,
      maxPositionEmbeddings: 8192,
      rmsNormEps: 1e-6,
      vocabSize: 257216,
    });
    expect(c.visionConfig).toMatchObject({
      imageSize: 224,
      patchSize: 14,
      hiddenSize: 1152,
      layerNormEps: 1e-6,
    });
    expect(c.numImageTokens).toBe(256);
    expect(c.imageTokenIndex).toBe(257152);
    expect(c.projectionDim).toBe(2304);
  });

  it('reads the 28B shape (query_pre_attn_scalar differs from head_dim) and a 448 px tower', () => {
    const c = parsePaliGemmaConfig({
      ...HUB_3B_224,
      projection_dim: 4608,
      text_config: {
        ...HUB_3B_224.text_config,
        hidden_size: 4608,
        head_dim: 128,
        query_pre_attn_scalar: 144,
        num_attention_heads: 32,
        num_key_value_heads: 16,
      },
      vision_config: { ...HUB_3B_224.vision_config, image_size: 448, projection_dim: 4608 },
    });
    expect(c.textConfig.headDim).toBe(128);
    expect(c.textConfig.queryPreAttnScalar).toBe(144);
    expect(c.numImageTokens).toBe(1024);
  });

  it('takes rope_theta from transformers 5 rope_parameters and null soft-caps as off', () => {
    const c = parsePaliGemmaConfig({
      ...HUB_3B_224,
      text_config: {
        ...HUB_3B_224.text_config,
        rope_parameters: { rope_theta: 5000, rope_type: 'default' },
        final_logit_softcapping: null,
      },
    });
    expect(c.textConfig.ropeTheta).toBe(5000);
    expect(c.textConfig.finalLogitSoftcapping).toBeNull();
  });

  it('rejects other models and inconsistent shapes with errors that name the problem', () => {
    expect(() => parsePaliGemmaConfig({ model_type: 'llava' })).toThrowError(/"llava" model, not PaliGemma/);
    expect(() =>
      parsePaliGemmaConfig({
        ...HUB_3B_224,
        text_config: { ...HUB_3B_224.text_config, model_type: 'gemma' },
      }),
    ).toThrowError(/PaliGemma 1/);
    let caught: unknown;
    try {
      parsePaliGemmaConfig({
        ...HUB_3B_224,
        text_config: { ...HUB_3B_224.text_config, num_key_value_heads: 3 },
      });
    } catch (e) {
      caught = e;
    }
    expect(isPaliError(caught, 'CORRUPT_FILE')).toBe(true);
    expect(String((caught as Error).message)).toMatch(/not a multiple of num_key_value_heads 3/);
    expect(() => parsePaliGemmaConfig({ ...HUB_3B_224, text_config: { hidden_size: '2304' } })).toThrowError(
      /text_config.hidden_size should be an integer|should be a number/,
    );
    expect(() => parsePaliGemmaConfig([])).toThrowError(/not a JSON object/);
  });
});

describe('parseGenerationConfig', () => {
  it('reads eos lists and falls back to config.json then to Gemma ids', () => {
    expect(
      parseGenerationConfig({ eos_token_id: [1, 107], bos_token_id: 2, pad_token_id: 0 }).eosTokenIds,
    ).toEqual([1, 107]);
    expect(parseGenerationConfig(undefined, { eos_token_id: 1 })).toMatchObject({
      eosTokenIds: [1],
      bosTokenId: 2,
      padTokenId: 0,
    });
    expect(parseGenerationConfig(undefined, { text_config: { eos_token_id: [1, 107] } }).eosTokenIds).toEqual(
      [1, 107],
    );
    expect(parseGenerationConfig({ max_new_tokens: 20, do_sample: false })).toMatchObject({
      maxNewTokens: 20,
      doSample: false,
    });
  });
});

describe('parsePreprocessorConfig', () => {
  it('reads SiglipImageProcessor settings', () => {
    const p = parsePreprocessorConfig({
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      image_mean: [0.5, 0.5, 0.5],
      image_processor_type: 'SiglipImageProcessor',
      image_seq_length: 1024,
      image_std: [0.5, 0.5, 0.5],
      processor_class: 'PaliGemmaProcessor',
      resample: 3,
      rescale_factor: 0.00392156862745098,
      size: { height: 448, width: 448 },
    });
    expect(p).toMatchObject({
      size: 448,
      resample: 'bicubic',
      imageSeqLength: 1024,
      imageMean: [0.5, 0.5, 0.5],
    });
    expect(p.rescaleFactor).toBe(1 / 255);
  });

  it('rejects non-square sizes and unknown filters', () => {
    expect(() => parsePreprocessorConfig({ size: { height: 224, width: 448 } })).toThrowError(/square/);
    expect(() => parsePreprocessorConfig({ resample: 9 })).toThrowError(/unknown resample 9/);
  });
});

describe('model folder layout', () => {
  it('names variant files as transformers.js expects', () => {
    expect(onnxPath('decoder_model_merged', 'q4')).toBe('onnx/decoder_model_merged_q4.onnx');
    expect(onnxPath('vision_encoder', 'fp32')).toBe('onnx/vision_encoder.onnx');
    expect(onnxPath('embed_tokens', 'q8')).toBe('onnx/embed_tokens_quantized.onnx');
    expect(externalDataPath('decoder_model_merged', 'fp16')).toBe('onnx/decoder_model_merged_fp16.onnx_data');
    expect(() => parseModelDtype('int3')).toThrowError(/Use one of fp32, fp16, q4/);
  });
});
