import { ERROR_CODES, PaliError } from '@pali/errors';
import { EMBED_IO } from '@pali/gemma2';
import {
  COMPONENTS,
  type Component,
  componentDtype,
  type DtypeChoice,
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
  prefillPath,
  stepPath,
  VISION_PREFILL_PATH,
} from '@pali/model-folder';
import { PaliGemmaText, type TaskTemplates } from '@pali/tokenizer';
import type { InferenceSession } from 'onnxruntime-common';
import { EmbeddingTable } from './embedding-table.js';
import type { ModelFiles, Runtime } from './runtime.js';
import { TransientSession } from './transient-session.js';

export interface LoadOptions {
  /** Weight variant, for all components or per component. Default: fp32 where the folder has it, else q4. */
  dtype?: DtypeChoice;
  /** Task prompt templates that override the defaults and the folder's. */
  templates?: TaskTemplates;
  /**
   * KV cache handling of decoder_model_merged (the step graph, when loaded, always keeps the cache in
   * our buffers): 'shared' keeps one preallocated buffer per layer that the decoder writes in place
   * (needs a GroupQueryAttention decoder: folders we converted); 'copy' hands each step's present to
   * the next step's past. Default 'auto': shared for our folders, copy otherwise.
   */
  kvCache?: 'auto' | 'shared' | 'copy';
  /**
   * The prompt pass: 'auto' (default) runs it on the folder's int8 graphs when it has them
   * (`pali convert --prefill int8`): the decoder's prefill graph for the chosen decoder variant, and
   * the int8 vision tower in place of a quantized one (a float32/float16 vision choice is kept).
   * 'int8' requires the decoder's; 'off' runs everything on the chosen variants (~2.4 GB less memory
   * for 3B, ~2× the time to first token on CPU).
   */
  prefill?: 'auto' | 'int8' | 'off';
  /**
   * How the int8 prompt graphs are held. 'transient' opens them ahead and releases each right after
   * its run (the decoder's prefill graph in the folder's parts of a few layers, then the prompt's last
   * token as a step), so that their weights are in memory only while they run: ~2.4 GB less peak
   * memory for 3B, about the same time to first token; the sessions are opened again while no
   * generation runs (~0.3 s of main-thread time), so a generation started right after another waits
   * for that. 'resident' holds them for the model's life. Default 'auto': transient where the folder
   * has the parts (`pali convert --prefill int8` writes them), the step graph is loaded and the
   * runtime maps weights from their files (onnxruntime-node; not the browser's, which reads them).
   */
  promptSessions?: 'auto' | 'transient' | 'resident';
  /**
   * 'auto' (default) loads the folder's step graph (`decoder_step*.onnx`, which our converter writes
   * beside the decoder) in place of decoder_model_merged: the same weights, with attention over our
   * own cache buffers instead of GroupQueryAttention, which copies the whole cache every step
   * (even at 224 px for 3B, ~40 ms a step faster at 448). It always keeps the cache in our buffers;
   * kvCache applies to decoder_model_merged, when there is no step graph or with 'off'.
   */
  stepGraph?: 'auto' | 'off';
  /**
   * The embedding rows of each generated token: 'auto' reads them from the table's file and
   * dequantizes them in JavaScript when the folder's embed_tokens is one we can read (one session run
   * per token instead of two), 'session' always runs embed_tokens. Prompts always use the session.
   */
  embeddingLookup?: 'auto' | 'session';
  /** Called as each model file is opened (transient sessions: again each time one is reopened). */
  onProgress?: (event: { stage: 'session'; component: Component | 'prefill'; file: string }) => void;
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
  /** The int8 prefill graph's session, when the folder has one and LoadOptions.prefill allows it. */
  prefillSession?: InferenceSession;
  /** Its parts, run as transient sessions (LoadOptions.promptSessions), in place of prefillSession. */
  promptParts?: TransientSession[];
  /** The vision tower as a transient session (with promptParts), in place of sessions.vision_encoder. */
  transientVision?: TransientSession;
  /** Whether sessions.decoder_model_merged is the folder's step graph (see LoadOptions.stepGraph). */
  stepGraph: boolean;
  /** Whether sessions.vision_encoder is the folder's int8 vision tower (see LoadOptions.prefill). */
  int8Vision: boolean;
  /** The embedding table read directly, for the per-step lookup (see LoadOptions.embeddingLookup). */
  embeddingTable?: EmbeddingTable;
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
  const ours = (configJson as Record<string, unknown>)[PALI_CONFIG_KEY] as PaliFolderInfo | undefined;
  const prefill = await choosePrefill(files, ours, dtypes, options.prefill);
  const sessions = {} as Record<Component, InferenceSession>;
  let prefillSession: InferenceSession | undefined;
  // Every .onnx file's external data, when it has one, is `<file>_data` beside it.
  // (the step graph's is the decoder's).
  const open = async (
    component: Component | 'prefill',
    file: string,
    extra: { prepack?: boolean; dataOf?: string } = {},
  ) => {
    options.onProgress?.({ stage: 'session', component, file });
    const data = `${extra.dataOf ?? file}_data`;
    return runtime.createSession(file, {
      ...(extra.prepack !== undefined ? { prepack: extra.prepack } : {}),
      ...((await files.exists(data)) ? { externalData: data } : {}),
    });
  };
  const step = await chooseStepGraph(files, ours, dtypes, options);
  if (options.promptSessions === 'transient' && !step) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, "promptSessions 'transient' needs the step graph", {
      hint: "The prompt's last token runs as a step of it: load with stepGraph 'auto' from a folder that has one",
    });
  }
  const partFiles = step
    ? await choosePromptParts(
        files,
        ours,
        dtypes,
        prefill,
        (options.promptSessions ?? 'auto') === 'auto' && !runtime.mapsExternalData
          ? 'resident'
          : options.promptSessions,
      )
    : undefined;
  let promptParts: TransientSession[] | undefined;
  let transientVision: TransientSession | undefined;
  try {
    // The decoder first: its q4 weights are repacked at load, which briefly holds them twice, and
    // nothing else should be resident then (a repacked vision tower was: load peak 3.06 → 2.73 GiB).
    for (const component of [...COMPONENTS].reverse()) {
      const file = onnxPath(component, dtypes[component]);
      if (component === 'vision_encoder' && prefill.vision) {
        const vision = prefill.vision;
        if (partFiles) {
          // Mapped as stored, like the parts: repacked it would stay in the heap after release (~0.37 GB
          // for 3B) and take ~0.25 s to open again; as stored it runs ~45 ms slower.
          transientVision = new TransientSession(vision, () => open(component, vision, { prepack: false }));
          await transientVision.prepare();
        } else sessions[component] = await open(component, vision);
      } else if (component === 'decoder_model_merged' && step)
        sessions[component] = await open(component, step, { dataOf: file });
      else sessions[component] = await open(component, file);
    }
    // Its int8 kernels run on the weights as stored: no repacking at load (which takes ~5.7 s for
    // 3B), read from the mapped file, ~17 % slower per prompt.
    if (partFiles) {
      promptParts = partFiles.map(
        (f) => new TransientSession(f, () => open('prefill', f, { prepack: false })),
      );
      for (const part of promptParts) await part.prepare();
    } else if (prefill.decoder) prefillSession = await open('prefill', prefill.decoder, { prepack: false });
  } catch (error) {
    await Promise.all([
      ...[...Object.values(sessions), ...(prefillSession ? [prefillSession] : [])].map((s) => s.release()),
      ...[...(promptParts ?? []), ...(transientVision ? [transientVision] : [])].map((t) => t.close()),
    ]);
    throw error;
  }
  checkEmbedSession(sessions.embed_tokens);
  const embeddingTable =
    (options.embeddingLookup ?? 'auto') === 'auto'
      ? await EmbeddingTable.open(
          files,
          onnxPath('embed_tokens', dtypes.embed_tokens),
          config.textConfig.hiddenSize,
        )
      : undefined;
  // Shared buffers need the decoder to learn the real length from attention_mask (ours has it).
  const canShare = sessions.decoder_model_merged.inputNames.includes('attention_mask');
  const sharedKvCache =
    step !== undefined ||
    (canShare &&
      (options.kvCache === 'shared' || ((options.kvCache ?? 'auto') === 'auto' && ours?.version === 1)));
  return {
    config,
    generation,
    preprocessor,
    text,
    sessions,
    dtypes,
    sharedKvCache,
    ...(prefillSession ? { prefillSession } : {}),
    ...(promptParts ? { promptParts } : {}),
    ...(transientVision ? { transientVision } : {}),
    int8Vision: prefill.vision !== undefined,
    stepGraph: step !== undefined,
    ...(embeddingTable ? { embeddingTable } : {}),
  };
}

const QUANTIZED: readonly ModelDtype[] = ['q4', 'q4f16', 'bnb4', 'q8', 'int8', 'uint8'];

/** The int8 prompt-pass graphs to load, if any (see LoadOptions.prefill). */
async function choosePrefill(
  files: ModelFiles,
  info: PaliFolderInfo | undefined,
  dtypes: Record<Component, ModelDtype>,
  choice: LoadOptions['prefill'] = 'auto',
): Promise<{ decoder?: string; vision?: string }> {
  if (choice === 'off') return {};
  const decoderDtype = dtypes.decoder_model_merged;
  const decoderFile = info?.prefill?.decoder?.[decoderDtype] ?? prefillPath(decoderDtype);
  const visionFile = info?.prefill?.vision ?? VISION_PREFILL_PATH;
  const out: { decoder?: string; vision?: string } = {};
  if (await files.exists(decoderFile)) out.decoder = decoderFile;
  else if (choice === 'int8') {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `${files.location} has no ${decoderFile}`, {
      hint: `Convert with --prefill int8 (it pairs with the ${decoderDtype} decoder), or load with prefill 'auto' or 'off'`,
      details: { decoderDtype },
    });
  }
  // A float vision tower was asked for: keep it (the int8 one would only trade its precision away).
  if (QUANTIZED.includes(dtypes.vision_encoder) && (await files.exists(visionFile))) out.vision = visionFile;
  return out;
}

/** The prefill graph's parts to run as transient sessions, if any (see LoadOptions.promptSessions). */
async function choosePromptParts(
  files: ModelFiles,
  info: PaliFolderInfo | undefined,
  dtypes: Record<Component, ModelDtype>,
  prefill: { decoder?: string },
  choice: LoadOptions['promptSessions'] = 'auto',
): Promise<string[] | undefined> {
  if (choice === 'resident') return undefined;
  const parts = prefill.decoder ? (info?.prefill?.decoderParts?.[dtypes.decoder_model_merged] ?? []) : [];
  const present = parts.length > 0 && (await Promise.all(parts.map((f) => files.exists(f)))).every(Boolean);
  if (present) return parts;
  if (choice === 'transient') {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `${files.location} has no parts of an int8 prefill graph`, {
      hint: "Convert it again with --prefill int8 (which writes them), or load with promptSessions 'resident'",
    });
  }
  return undefined;
}

/** The step graph to load in place of the decoder, if any (see LoadOptions.stepGraph). */
async function chooseStepGraph(
  files: ModelFiles,
  info: PaliFolderInfo | undefined,
  dtypes: Record<Component, ModelDtype>,
  options: LoadOptions,
): Promise<string | undefined> {
  if ((options.stepGraph ?? 'auto') === 'off') return undefined;
  const decoderDtype = dtypes.decoder_model_merged;
  const file = info?.step?.[decoderDtype] ?? stepPath(decoderDtype);
  return (await files.exists(file)) ? file : undefined;
}

function checkEmbedSession(session: InferenceSession): void {
  if (!session.inputNames.includes(EMBED_IO.input) || !session.outputNames.includes(EMBED_IO.output)) {
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `embed_tokens takes [${session.inputNames.join(', ')}]`, {
      hint: `Expected ${EMBED_IO.input} → ${EMBED_IO.output}`,
    });
  }
}
