import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ERROR_CODES, PaliError, throwIfAborted } from '@pali/errors';
import { buildDecoderGraph, buildEmbedGraph } from '@pali/gemma2';
import {
  type Component,
  checkpointWeights,
  FOLDER_FILES,
  onnxPath,
  PALI_CONFIG_KEY,
  type PaliFolderInfo,
  type PaliGemmaConfig,
  parsePaliGemmaConfig,
  validateCheckpoint,
} from '@pali/model-folder';
import type { GraphBuilder } from '@pali/onnx';
import { openSafetensors, writeModel } from '@pali/onnx/node';
import { buildVisionGraph } from '@pali/siglip';

export interface ConvertProgress {
  /** What is being written: a component's ONNX file, or the JSON and tokenizer files. */
  stage: Component | 'files';
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
    const weights = checkpointWeights(reader, source);
    validateCheckpoint(config, weights, source);
    const graphs: [Component, GraphBuilder][] = [
      ['vision_encoder', buildVisionGraph(config, weights)],
      ['embed_tokens', buildEmbedGraph(config, weights)],
      [
        'decoder_model_merged',
        buildDecoderGraph(config, weights, { slidingWindow: options.slidingWindow ?? false }),
      ],
    ];
    const total = graphs.reduce(
      (sum, [, g]) => sum + g.initializers.reduce((s, i) => s + i.byteLength, 0),
      0,
    );
    await mkdir(join(staging, 'onnx'), { recursive: true });
    let done = 0;
    const externalData: Record<string, number> = {};
    for (const [component, graph] of graphs) {
      throwIfAborted(signal, 'conversion');
      const file = onnxPath(component, 'fp32');
      const result = await writeModel(graph, join(staging, file), {
        signal,
        producerName: 'pali-convert',
        onProgress: (written) => options.onProgress?.({ stage: component, written: done + written, total }),
      });
      if (result.dataPath) externalData[basename(file)] = 1;
      done += graph.initializers.reduce((s, i) => s + i.byteLength, 0);
    }
    options.onProgress?.({ stage: 'files', written: done, total });
    await writeFolderFiles(
      source,
      staging,
      configJson as Record<string, unknown>,
      config,
      externalData,
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
  options: ConvertOptions,
): Promise<void> {
  const info: PaliFolderInfo = {
    version: 1,
    prefixLm: true,
    lastPositionLogits: true,
    slidingWindow: options.slidingWindow ?? false,
    variants: { vision_encoder: ['fp32'], embed_tokens: ['fp32'], decoder_model_merged: ['fp32'] },
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
