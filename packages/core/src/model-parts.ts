import { ERROR_CODES, PaliError } from '@pali/errors';
import { EMBED_IO } from '@pali/gemma2';
import {
  COMPONENTS,
  type Component,
  componentDtype,
  type DtypeChoice,
  externalDataPath,
  FOLDER_FILES,
  type GenerationConfig,
  MODEL_DTYPES,
  type ModelDtype,
  onnxPath,
  PALI_CONFIG_KEY,
  type PaliFolderInfo,
  type PaliGemmaConfig,
  type PreprocessorConfig,
  parseGenerationConfig,
  parsePaliGemmaConfig,
  parsePreprocessorConfig,
} from '@pali/model-folder';
import { PaliGemmaText, type TaskTemplates } from '@pali/tokenizer';
import type { InferenceSession } from 'onnxruntime-common';
import type { ModelFiles, Runtime } from './runtime.js';

export interface LoadOptions {
  /** Weight variant, for all components or per component. Default: fp32 where the folder has it, else q4. */
  dtype?: DtypeChoice;
  /** Task prompt templates that override the defaults and the folder's. */
  templates?: TaskTemplates;
  /**
   * KV cache handling: 'shared' keeps one preallocated buffer per layer that the decoder writes in
   * place (needs a GroupQueryAttention decoder: folders we converted); 'copy' hands each step's
   * present to the next step's past. Default 'auto': shared for our folders, copy otherwise.
   */
  kvCache?: 'auto' | 'shared' | 'copy';
  /** Called as each model file is opened. */
  onProgress?: (event: { stage: 'session'; component: Component; file: string }) => void;
}

/** Everything a PaliGemma pipeline is made of, loaded from one model folder. */
export interface ModelParts {
  config: PaliGemmaConfig;
  generation: GenerationConfig;
  preprocessor: PreprocessorConfig;
  text: PaliGemmaText;
  sessions: Record<Component, InferenceSession>;
  dtypes: Record<Component, ModelDtype>;
  /** Whether the decoder writes its KV cache in place (see LoadOptions.kvCache). */
  sharedKvCache: boolean;
}

async function readJson(files: ModelFiles, path: string, required: boolean): Promise<unknown> {
  if (!(await files.exists(path))) {
    if (!required) return undefined;
    throw new PaliError(ERROR_CODES.NOT_FOUND, `${files.location} has no ${path}`, {
      hint: 'Point at a PaliGemma model folder (onnx-community layout) or a Hub repo id',
      details: { path },
    });
  }
  const text = await files.readText(path);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${files.location}/${path} is not valid JSON`, { cause });
  }
}

/** The variants of each component that the folder holds. */
export async function availableDtypes(files: ModelFiles): Promise<Record<Component, ModelDtype[]>> {
  const out = {} as Record<Component, ModelDtype[]>;
  for (const component of COMPONENTS) {
    out[component] = [];
    for (const dtype of MODEL_DTYPES)
      if (await files.exists(onnxPath(component, dtype))) out[component].push(dtype);
  }
  return out;
}

/** Picks each component's file for the requested dtype, with an error that lists what exists. */
export async function chooseDtypes(
  files: ModelFiles,
  choice: DtypeChoice | undefined,
): Promise<Record<Component, ModelDtype>> {
  const available = await availableDtypes(files);
  const out = {} as Record<Component, ModelDtype>;
  for (const component of COMPONENTS) {
    const have = available[component];
    const wanted =
      choice === undefined ? (have.includes('fp32') ? 'fp32' : 'q4') : componentDtype(choice, component);
    if (!have.includes(wanted)) {
      throw new PaliError(ERROR_CODES.NOT_FOUND, `${files.location} has no ${onnxPath(component, wanted)}`, {
        hint: have.length
          ? `It has ${component} as ${have.join(', ')}: pass one of those as dtype`
          : `It has no onnx/${component}*.onnx at all: is it a PaliGemma model folder?`,
        details: { component, wanted, available: have },
      });
    }
    out[component] = wanted;
  }
  return out;
}

export async function loadModelParts(
  files: ModelFiles,
  runtime: Runtime,
  options: LoadOptions = {},
): Promise<ModelParts> {
  const configJson = await readJson(files, FOLDER_FILES.config, true);
  const config = parsePaliGemmaConfig(configJson, `${files.location}/${FOLDER_FILES.config}`);
  const generation = parseGenerationConfig(
    await readJson(files, FOLDER_FILES.generationConfig, false),
    configJson as Record<string, unknown>,
  );
  const preprocessorJson = await readJson(files, FOLDER_FILES.preprocessorConfig, false);
  const preprocessor = parsePreprocessorConfig(
    preprocessorJson ?? {
      size: { height: config.visionConfig.imageSize, width: config.visionConfig.imageSize },
      image_seq_length: config.numImageTokens,
    },
  );
  if (preprocessor.size !== config.visionConfig.imageSize) {
    throw new PaliError(
      ERROR_CODES.CORRUPT_FILE,
      `${files.location}: preprocessor_config.json resizes to ${preprocessor.size} px but the vision tower takes ${config.visionConfig.imageSize}`,
    );
  }
  const text = PaliGemmaText.fromFiles(
    {
      tokenizer: await readJson(files, FOLDER_FILES.tokenizer, true),
      tokenizerConfig: await readJson(files, FOLDER_FILES.tokenizerConfig, false),
      config: configJson,
      preprocessorConfig: preprocessorJson,
    } as Parameters<typeof PaliGemmaText.fromFiles>[0],
    options.templates ? { templates: options.templates } : {},
  );
  const dtypes = await chooseDtypes(files, options.dtype);
  const sessions = {} as Record<Component, InferenceSession>;
  try {
    for (const component of COMPONENTS) {
      const file = onnxPath(component, dtypes[component]);
      options.onProgress?.({ stage: 'session', component, file });
      const data = externalDataPath(component, dtypes[component]);
      sessions[component] = await runtime.createSession(
        file,
        (await files.exists(data)) ? { externalData: data } : {},
      );
    }
  } catch (error) {
    await Promise.all(Object.values(sessions).map((s) => s.release()));
    throw error;
  }
  checkEmbedSession(sessions.embed_tokens);
  const ours = (configJson as Record<string, unknown>)[PALI_CONFIG_KEY] as PaliFolderInfo | undefined;
  // Shared buffers need the decoder to learn the real length from attention_mask (ours has it).
  const canShare = sessions.decoder_model_merged.inputNames.includes('attention_mask');
  const sharedKvCache =
    canShare &&
    (options.kvCache === 'shared' || ((options.kvCache ?? 'auto') === 'auto' && ours?.version === 1));
  return { config, generation, preprocessor, text, sessions, dtypes, sharedKvCache };
}

function checkEmbedSession(session: InferenceSession): void {
  if (!session.inputNames.includes(EMBED_IO.input) || !session.outputNames.includes(EMBED_IO.output)) {
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `embed_tokens takes [${session.inputNames.join(', ')}]`, {
      hint: `Expected ${EMBED_IO.input} → ${EMBED_IO.output}`,
    });
  }
}
