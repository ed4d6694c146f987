import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';
import { buildDecoderGraph, buildEmbedGraph } from '@pali/gemma2';
import {
  type Component,
  checkpointWeights,
  componentDtype,
  type DtypeChoice,
  FOLDER_FILES,
  onnxPath,
  PALI_CONFIG_KEY,
  type PaliFolderInfo,
  type PaliGemmaConfig,
  parsePaliGemmaConfig,
  prefillPartPath,
  prefillPath,
  stepPath,
  VISION_PREFILL_PATH,
  validateCheckpoint,
} from '@pali/model-folder';
import type { GraphBuilder } from '@pali/onnx';
import { type ExternalTensorRef, openSafetensors, writeModel } from '@pali/onnx/node';
import { buildVisionGraph } from '@pali/siglip';
import { readLoraAdapter } from './lora.js';

export interface ConvertProgress {
  /** What is being written: a component's ONNX file, an int8 prefill graph, or the JSON and tokenizer files. */
  stage: Component | 'prefill' | 'vision_prefill' | 'step' | 'files';
  /** Bytes of tensor data written so far, over all components. */
  written: number;
  /** Bytes of tensor data the conversion writes in all. */
  total: number;
}

export interface ConvertOptions {
  /** Replace an existing output folder (it is swapped only once the new one is complete). */
  overwrite?: boolean;
  /** Bake HF 5.x sliding-window attention into the decoder (off: the training semantics). */
  slidingWindow?: boolean;
  /** Write only these components (default all three), e.g. to measure one. */
  components?: readonly Component[];
  /** A PEFT LoRA adapter folder to merge into the weights before export. */
  lora?: string;
  /** Weight variant(s): one dtype for all components or one per component (default fp32). */
  dtype?: DtypeChoice;
  /**
   * Let embed_tokens read the embedding table from the decoder's data file instead of carrying its
   * own copy (the table is tied; in q4 the copy is 0.37 GB of a 3B model). Default true. Node runtimes
   * resolve the reference by path; transformers.js in a browser fetches only `<model>.onnx_data`, so
   * pass false for folders meant for it.
   */
  shareEmbedding?: boolean;
  /**
   * 'int8' also writes the int8 (DynamicQuantizeMatMul) graphs of the prompt pass:
   * `onnx/decoder_prefill_int8<suffix>.onnx`, the decoder with int8 layers and an int8 head (reading
   * its norms and tables from the decoder's data file; a step graph, see stepPath), and
   * `onnx/vision_encoder_prefill_int8.onnx`.
   * On CPU they run a prompt ~2.3× and the vision tower ~2× faster than int4 MatMulNBits; they cost
   * an int8 copy of the weights: ~3 GB more on disk and ~2.4 GB more memory for 3B. Default 'none'. Needs the
   * decoder.
   */
  prefill?: 'int8' | 'none';
  /**
   * With prefill 'int8': also cut the prefill graph into parts of this many decoder layers
   * (`onnx/decoder_prefill_int8<suffix>_partNN.onnx`, graph only, on the prefill graph's and the
   * decoder's data: no extra bytes). Loaders run the parts as short-lived sessions, so that only one
   * part's int8 weights are in memory at a time (~0.15 GB for 3B instead of 2.4 GB). Default 2;
   * 0 writes none.
   */
  prefillPartLayers?: number;
  /**
   * Block size of the blockwise formats (q4, q4f16, and the tied table's blocks): a power of two
   * ≥ 16, default 32 (the onnx-community q4 layout). 128 stores fewer scales and runs MatMulNBits
   * faster on CPU, at some accuracy (docs/quantization.md).
   */
  blockSize?: number;
  onProgress?: (progress: ConvertProgress) => void;
  signal?: AbortSignal;
}

export interface ConvertResult {
  out: string;
  config: PaliGemmaConfig;
  files: { path: string; bytes: number }[];
}

/** Files copied from the checkpoint when present (tokenizer.json and its config are required). */
const COPIED = ['tokenizer.model', 'special_tokens_map.json', 'added_tokens.json'];

/**
 * Converts a local Hugging Face PaliGemma 2 checkpoint folder (config.json + safetensors, single or
 * sharded, either tensor naming) into a model folder in the onnx-community layout (REFERENCE.md §9).
 * Weights are streamed one tensor at a time; the folder appears only when complete.
 */
export async function convertCheckpoint(
  src: string,
  out: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  const source = resolve(src);
  const target = resolve(out);
  const { signal } = options;
  const configJson = await readJson(
    join(source, FOLDER_FILES.config),
    'a Hugging Face checkpoint folder with config.json',
  );
  const config = parsePaliGemmaConfig(configJson, join(source, FOLDER_FILES.config));
  for (const required of [FOLDER_FILES.tokenizer, FOLDER_FILES.tokenizerConfig]) {
    if (!(await exists(join(source, required)))) {
      throw new PaliError(ERROR_CODES.NOT_FOUND, `${source} has no ${required}`, {
        hint: 'Download the tokenizer files of the checkpoint too (they are in the same Hub repo)',
      });
    }
  }
  if ((await exists(target)) && !options.overwrite) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${target} already exists`, {
      hint: 'Choose another output folder or pass --overwrite',
    });
  }

  const reader = await openSafetensors(source);
  const staging = join(dirname(target), `.${basename(target)}.partial-${randomBytes(4).toString('hex')}`);
  try {
    const base = checkpointWeights(reader, source);
    validateCheckpoint(config, base, source);
    const weights = options.lora ? (await readLoraAdapter(resolve(options.lora))).merge(base) : base;
    const dtypeOf = (c: Component) => componentDtype(options.dtype ?? 'fp32', c);
    // The decoder is written before embed_tokens so that embed_tokens can point at its table.
    const wanted = new Set(options.components ?? ['vision_encoder', 'decoder_model_merged', 'embed_tokens']);
    const decoderDtype = dtypeOf('decoder_model_merged');
    const withPrefill = (options.prefill ?? 'none') === 'int8';
    if (withPrefill && !wanted.has('decoder_model_merged')) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'The int8 prefill graph needs the decoder', {
        hint: 'Convert decoder_model_merged too, or leave out prefill',
      });
    }
    const partLayers = withPrefill && !options.slidingWindow ? (options.prefillPartLayers ?? 2) : 0;
    if (!Number.isInteger(partLayers) || partLayers < 0) {
      throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `prefillPartLayers ${partLayers}`, {
        hint: 'Give a whole number of layers per part (0 for none)',
      });
    }
    const L = config.textConfig.numHiddenLayers;
    const partRanges: { from: number; to: number }[] = [];
    for (let from = 0; partLayers > 0 && from < L; from += partLayers)
      partRanges.push({ from, to: Math.min(L, from + partLayers) });
    type Part = Component | 'prefill' | 'vision_prefill' | 'step' | `prefill_part${number}`;
    const block = options.blockSize !== undefined ? { blockSize: options.blockSize } : {};
    const graphs = (
      [
        [
          'vision_encoder',
          () => buildVisionGraph(config, weights, { dtype: dtypeOf('vision_encoder'), ...block }),
        ],
        [
          'decoder_model_merged',
          () =>
            buildDecoderGraph(config, weights, {
              slidingWindow: options.slidingWindow ?? false,
              dtype: decoderDtype,
              ...block,
            }),
        ],
        [
          'prefill',
          () =>
            buildDecoderGraph(config, weights, {
              slidingWindow: options.slidingWindow ?? false,
              dtype: decoderDtype,
              layerDtype: 'q8',
              int8Head: true,
              // MatMul attention over the prompt's own keys, which the loader appends to its cache.
              callerKeptCache: !options.slidingWindow,
              ...block,
            }),
        ],
        // The prefill graph again in layer ranges, on its tensors (written right after it).
        ...partRanges.map(
          (layers, i) =>
            [
              `prefill_part${i}`,
              () =>
                buildDecoderGraph(config, weights, {
                  dtype: decoderDtype,
                  layerDtype: 'q8',
                  callerKeptCache: true,
                  layers,
                  ...block,
                }),
            ] as [Part, () => GraphBuilder],
        ),
        ['vision_prefill', () => buildVisionGraph(config, weights, { dtype: 'q8' })],
        // The decoder again as a graph on the decoder's tensors, with attention over a caller-kept cache.
        [
          'step',
          () => buildDecoderGraph(config, weights, { dtype: decoderDtype, ...block, callerKeptCache: true }),
        ],
        [
          'embed_tokens',
          () => buildEmbedGraph(config, weights, { dtype: dtypeOf('embed_tokens'), ...block }),
        ],
      ] as [Part, () => GraphBuilder][]
    ).filter(([c]) =>
      c === 'prefill' || c === 'vision_prefill' || c.startsWith('prefill_part')
        ? withPrefill
        : c === 'step'
          ? wanted.has('decoder_model_merged') && !options.slidingWindow
          : wanted.has(c as Component),
    );
    const built = graphs.map(([c, build]) => [c, build()] as [Part, GraphBuilder]);
    // The step graph and the prefill parts write no tensor bytes (all of them are written already).
    const graphOnly = (c: Part) => c === 'step' || c.startsWith('prefill_part');
    const bytesOf = ([c, g]: [Part, GraphBuilder]) =>
      graphOnly(c) ? 0 : g.initializers.reduce((s, i) => s + i.byteLength, 0);
    const total = built.reduce((sum, part) => sum + bytesOf(part), 0);
    await mkdir(join(staging, 'onnx'), { recursive: true });
    let done = 0;
    const externalData: Record<string, number> = {};
    const sharedData: Record<string, string> = {};
    let decoderTensors = new Map<string, ExternalTensorRef>();
    let prefillTensors = new Map<string, ExternalTensorRef>();
    const partFiles: string[] = [];
    for (const [component, graph] of built) {
      throwIfAborted(signal, 'conversion');
      const file =
        component === 'prefill'
          ? prefillPath(decoderDtype)
          : component === 'vision_prefill'
            ? VISION_PREFILL_PATH
            : component === 'step'
              ? stepPath(decoderDtype)
              : component.startsWith('prefill_part')
                ? prefillPartPath(decoderDtype, Number(component.slice('prefill_part'.length)))
                : onnxPath(component as Component, dtypeOf(component as Component));
      if (component.startsWith('prefill_part')) partFiles.push(file);
      const refs = new Map<string, ExternalTensorRef>();
      // The prefill graph always reads the decoder's head, norms and tables from the decoder's file,
      // and the step graph all of its tensors.
      // The parts read their int8 weights from the prefill graph's file, the rest from the decoder's.
      if (
        component === 'prefill' ||
        graphOnly(component) ||
        (component === 'embed_tokens' && (options.shareEmbedding ?? true))
      ) {
        const sources = component.startsWith('prefill_part')
          ? [prefillTensors, decoderTensors]
          : [decoderTensors];
        for (const init of graph.initializers) {
          const at = sources.map((m) => m.get(init.name)).find((r) => r?.length === init.byteLength);
          if (at) refs.set(init.name, at);
        }
        const location = refs.values().next().value?.location;
        if (location) sharedData[basename(file)] = location;
      }
      const result = await writeModel(graph, join(staging, file), {
        signal,
        externalRefs: refs,
        producerName: 'pali-convert',
        onProgress: (written) =>
          options.onProgress?.({
            stage: component.startsWith('prefill_part') ? 'prefill' : (component as ConvertProgress['stage']),
            written: done + written,
            total,
          }),
      });
      if (graphOnly(component) && result.dataPath) {
        throw new PaliError(ERROR_CODES.INTERNAL, `The ${component} graph has tensors of its own`);
      }
      if (result.dataPath && !component.endsWith('prefill')) externalData[basename(file)] = 1;
      if (component === 'decoder_model_merged') decoderTensors = result.tensorLocations;
      if (component === 'prefill') prefillTensors = result.tensorLocations;
      done += bytesOf([component, graph]);
    }
    options.onProgress?.({ stage: 'files', written: done, total });
    const variants = Object.fromEntries(
      built
        .filter(([c]) => !c.endsWith('prefill') && !graphOnly(c))
        .map(([c]) => [c, [dtypeOf(c as Component)]]),
    );
    const prefill = withPrefill
      ? {
          vision: VISION_PREFILL_PATH,
          decoder: { [decoderDtype]: prefillPath(decoderDtype) },
          ...(partFiles.length ? { decoderParts: { [decoderDtype]: partFiles } } : {}),
        }
      : undefined;
    const step = built.some(([c]) => c === 'step') ? { [decoderDtype]: stepPath(decoderDtype) } : undefined;
    await writeFolderFiles(
      source,
      staging,
      configJson as Record<string, unknown>,
      config,
      externalData,
      variants,
      sharedData,
      { prefill, step },
      options,
    );
    throwIfAborted(signal, 'conversion');
    await swapInto(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    await reader.close();
  }
  return { out: target, config, files: await listFiles(target) };
}

async function writeFolderFiles(
  source: string,
  staging: string,
  configJson: Record<string, unknown>,
  config: PaliGemmaConfig,
  externalData: Record<string, number>,
  variants: PaliFolderInfo['variants'],
  sharedData: Record<string, string>,
  { prefill, step }: Pick<PaliFolderInfo, 'prefill' | 'step'>,
  options: ConvertOptions,
): Promise<void> {
  const info: PaliFolderInfo = {
    version: 1,
    prefixLm: true,
    lastPositionLogits: true,
    slidingWindow: options.slidingWindow ?? false,
    ...(variants ? { variants } : {}),
    ...(prefill ? { prefill } : {}),
    ...(step ? { step } : {}),
    ...(Object.keys(sharedData).length ? { sharedExternalData: sharedData } : {}),
  };
  const previous = (configJson['transformers.js_config'] ?? {}) as Record<string, unknown>;
  const outConfig = {
    ...configJson,
    'transformers.js_config': { ...previous, use_external_data_format: externalData },
    [PALI_CONFIG_KEY]: info,
  };
  await writeJson(join(staging, FOLDER_FILES.config), outConfig);

  const generation = join(source, FOLDER_FILES.generationConfig);
  if (await exists(generation)) await copyFile(generation, join(staging, FOLDER_FILES.generationConfig));
  else {
    const text = (configJson.text_config ?? {}) as Record<string, unknown>;
    await writeJson(join(staging, FOLDER_FILES.generationConfig), {
      bos_token_id: configJson.bos_token_id ?? text.bos_token_id ?? 2,
      eos_token_id: configJson.eos_token_id ?? text.eos_token_id ?? 1,
      pad_token_id: configJson.pad_token_id ?? text.pad_token_id ?? 0,
    });
  }
  const preprocessor = join(source, FOLDER_FILES.preprocessorConfig);
  if (await exists(preprocessor))
    await copyFile(preprocessor, join(staging, FOLDER_FILES.preprocessorConfig));
  else {
    const size = config.visionConfig.imageSize;
    await writeJson(join(staging, FOLDER_FILES.preprocessorConfig), {
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      image_mean: [0.5, 0.5, 0.5],
      image_processor_type: 'SiglipImageProcessor',
      image_seq_length: config.numImageTokens,
      image_std: [0.5, 0.5, 0.5],
      processor_class: 'PaliGemmaProcessor',
      resample: 3,
      rescale_factor: 1 / 255,
      size: { height: size, width: size },
    });
  }
  for (const name of [FOLDER_FILES.tokenizer, FOLDER_FILES.tokenizerConfig, ...COPIED]) {
    const from = join(source, name);
    if (await exists(from)) await copyFile(from, join(staging, name));
  }
}

/** Moves the finished staging folder to its place; an old folder goes only after the new one is in. */
async function swapInto(staging: string, target: string): Promise<void> {
  if (!(await exists(target))) {
    await rename(staging, target);
    return;
  }
  const old = `${staging}.old`;
  await rename(target, old);
  await rename(staging, target);
  await rm(old, { recursive: true, force: true });
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `No ${basename(path)} at ${dirname(path)}`, {
      hint: `Point at ${what}`,
      cause,
    });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${path} is not valid JSON`, { cause });
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function listFiles(dir: string, prefix = ''): Promise<{ path: string; bytes: number }[]> {
  const { readdir } = await import('node:fs/promises');
  const out: { path: string; bytes: number }[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push({ path: rel, bytes: (await stat(join(dir, rel))).size });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
