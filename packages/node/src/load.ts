import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import { PaliGemma as CorePaliGemma, type LoadOptions, type MaskCodeDecoder } from '@pali/core';
import { ERROR_CODES, PaliError } from '@pali/errors';
import type { HubOptions, HubProgressEvent } from '@pali/hub';
import { downloadModelFiles } from '@pali/hub/node';
import type { ImageInput } from '@pali/image/node';
import { decodeImage } from '@pali/image/node';
import {
  COMPONENTS,
  componentDtype,
  externalDataPath,
  FOLDER_FILES,
  FOLDER_JSON_FILES,
  HUB_REPO_ID,
  onnxPath,
  PALI_CONFIG_KEY,
  type PaliFolderInfo,
  prefillPath,
  stepPath,
  VISION_PREFILL_PATH,
} from '@pali/model-folder';
import { MaskDecoder } from '@pali/vqvae';
import { prepareMaskDecoder } from '@pali/vqvae/node';
import * as ort from 'onnxruntime-node';
import { fsModelFiles } from './fs-model-files.js';
import { type NodeRuntimeOptions, nodeRuntime } from './node-runtime.js';

export type LoadProgress =
  | ({ stage: 'download' } & HubProgressEvent)
  | { stage: 'convert'; written: number; total: number }
  | { stage: 'session'; component: string; file: string };

export interface NodeLoadOptions
  extends Omit<LoadOptions, 'onProgress'>,
    NodeRuntimeOptions,
    Omit<HubOptions, 'onProgress'> {
  /** HF cache folder (default as Python: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Where converted checkpoints are kept (default: PALI_CACHE or ~/.cache/pali/converted). */
  convertedDir?: string;
  onProgress?: (event: LoadProgress) => void;
  /** big_vision's vae-oid.npz, which segment() needs to turn <seg> codes into masks. */
  vae?: string;
}

/** The image inputs the Node adapter decodes: a path, a URL, bytes, or decoded RGB. */
export type NodeImage = ImageInput;

/** Where a model source resolved to, for messages and `pali env`-style reports. */
export interface ResolvedSource {
  kind: 'folder' | 'checkpoint' | 'hub';
  folder: string;
}

/**
 * Loads PaliGemma 2 from a model folder (ours or an onnx-community export), a local Hugging Face
 * checkpoint (converted once into a cache folder), or a Hub repo id (downloaded into the HF cache).
 */
export async function loadPaliGemma(
  source: string,
  options: NodeLoadOptions = {},
): Promise<CorePaliGemma<NodeImage>> {
  const { folder } = await resolveSource(source, options);
  const runtime = nodeRuntime(folder, options);
  const pg = await CorePaliGemma.fromFolder<NodeImage>(
    fsModelFiles(folder),
    runtime,
    (input, signal) => decodeImage(input, signal ? { signal } : {}),
    {
      ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
      ...(options.templates ? { templates: options.templates } : {}),
      ...(options.kvCache !== undefined ? { kvCache: options.kvCache } : {}),
      ...(options.prefill !== undefined ? { prefill: options.prefill } : {}),
      ...(options.stepGraph !== undefined ? { stepGraph: options.stepGraph } : {}),
      ...(options.promptSessions !== undefined ? { promptSessions: options.promptSessions } : {}),
      ...(options.embeddingLookup !== undefined ? { embeddingLookup: options.embeddingLookup } : {}),
      onProgress: (e) => options.onProgress?.(e),
    },
  );
  if (options.vae) {
    try {
      pg.useMaskDecoder(await maskDecoder(options.vae, options));
    } catch (error) {
      await pg.dispose();
      throw error;
    }
  }
  return pg;
}

/** The VQ-VAE decoder graph is built once per npz file and kept beside the converted models. */
export async function maskDecoder(vae: string, options: NodeLoadOptions = {}): Promise<MaskCodeDecoder> {
  const cache = join(convertedBase(options), '..', 'vqvae');
  await mkdir(cache, { recursive: true });
  const { modelPath } = await prepareMaskDecoder(resolve(vae), cache);
  const session = await ort.InferenceSession.create(modelPath);
  const decoder = new MaskDecoder(session, ort.Tensor as never);
  return { decode: (codes, signal) => decoder.decode(codes, signal), release: () => session.release() };
}

function convertedBase(options: NodeLoadOptions): string {
  return options.convertedDir ?? process.env.PALI_CACHE ?? join(homedir(), '.cache', 'pali', 'converted');
}

export async function resolveSource(source: string, options: NodeLoadOptions = {}): Promise<ResolvedSource> {
  const local = resolve(source);
  const kind = await localKind(local);
  if (kind === 'folder') return { kind, folder: local };
  if (kind === 'checkpoint')
    return { kind, folder: await convertOnce(local, await checkpointKey(local), options) };
  if (!HUB_REPO_ID.test(source)) {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `No model at ${local}`, {
      hint: 'Give a model folder, a Hugging Face checkpoint folder, or a Hub repo id such as onnx-community/paligemma2-3b-pt-224',
    });
  }
  return { kind: 'hub', folder: await fromHub(source, options) };
}

async function localKind(path: string): Promise<'folder' | 'checkpoint' | undefined> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isDirectory()) return undefined;
  const names = await readdir(path);
  if (!names.includes(FOLDER_FILES.config)) {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `${path} has no config.json`, {
      hint: 'Point at a PaliGemma model folder or checkpoint folder',
    });
  }
  if (names.includes('onnx')) return 'folder';
  if (names.some((n) => n.endsWith('.safetensors') || n === 'model.safetensors.index.json'))
    return 'checkpoint';
  throw new PaliError(ERROR_CODES.NOT_FOUND, `${path} has neither onnx/ nor safetensors weights`, {
    hint: 'Download the model files too, not only config.json',
  });
}

/** A checkpoint is converted again only when its files change (path, sizes, times). */
async function checkpointKey(dir: string): Promise<string> {
  const hash = createHash('sha256').update(dir);
  for (const name of (await readdir(dir)).sort()) {
    const st = await stat(join(dir, name));
    hash.update(`${name}:${st.size}:${st.mtimeMs}`);
  }
  return hash.digest('hex').slice(0, 16);
}

async function convertOnce(checkpoint: string, key: string, options: NodeLoadOptions): Promise<string> {
  const base =
    options.convertedDir ?? process.env.PALI_CACHE ?? join(homedir(), '.cache', 'pali', 'converted');
  const out = join(base, key);
  if (await stat(join(out, FOLDER_FILES.config)).catch(() => undefined)) return out;
  await convertCheckpoint(checkpoint, out, {
    overwrite: true,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (p) => options.onProgress?.({ stage: 'convert', written: p.written, total: p.total }),
  });
  return out;
}

async function fromHub(repo: string, options: NodeLoadOptions): Promise<string> {
  const hub = {
    ...(options.revision ? { revision: options.revision } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.token ? { token: options.token } : {}),
    ...(options.offline !== undefined ? { offline: options.offline } : {}),
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (e: HubProgressEvent) => options.onProgress?.({ stage: 'download', ...e }),
  };
  // The onnx-community layout: the JSON files and the chosen variant of each component.
  const dtype = options.dtype ?? 'q4';
  const decoderDtype = componentDtype(dtype, 'decoder_model_merged');
  const onnxFiles = [
    ...COMPONENTS.flatMap((c) => [
      { path: onnxPath(c, componentDtype(dtype, c)), optional: true },
      { path: externalDataPath(c, componentDtype(dtype, c)), optional: true },
    ]),
    // Our step graph, where the repo has one: graph only, on the decoder's data.
    { path: stepPath(decoderDtype), optional: true },
  ];
  // The int8 prompt-pass graphs are ~3 GB more for 3B: fetched only when asked for by name.
  if (options.prefill === 'int8') {
    for (const file of [prefillPath(decoderDtype), VISION_PREFILL_PATH])
      onnxFiles.push({ path: file, optional: true }, { path: `${file}_data`, optional: true });
  }
  const small = FOLDER_JSON_FILES.map((path) => ({ path, optional: path !== FOLDER_FILES.config }));
  const first = await downloadModelFiles(
    repo,
    [...small, ...onnxFiles, { path: 'model.safetensors.index.json', optional: true }],
    hub,
  );
  const haveOnnx = COMPONENTS.every((c) => first.files[onnxPath(c, componentDtype(dtype, c))]);
  const config = first.files[FOLDER_FILES.config];
  if (haveOnnx && options.prefill === 'int8' && config) {
    // The prefill graph's parts (graph only) are listed in config.json.
    const info = (JSON.parse(await readFile(config, 'utf8')) as Record<string, unknown>)[PALI_CONFIG_KEY] as
      | PaliFolderInfo
      | undefined;
    const parts = info?.prefill?.decoderParts?.[decoderDtype] ?? [];
    if (parts.length > 0) {
      await downloadModelFiles(
        repo,
        parts.map((path) => ({ path, optional: true })),
        { ...hub, revision: first.commit },
      );
    }
  }
  if (haveOnnx) return first.snapshotDir;
  // Google's checkpoint layout: download the safetensors and convert once per commit.
  const index = first.files['model.safetensors.index.json'];
  const shards = index
    ? [
        ...new Set(
          Object.values(
            (JSON.parse(await readFile(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map,
          ),
        ),
      ]
    : ['model.safetensors'];
  const weights = await downloadModelFiles(repo, shards, { ...hub, revision: first.commit }).catch(
    (error: unknown) => {
      throw new PaliError(
        ERROR_CODES.NOT_FOUND,
        `${repo} has neither onnx/ files for dtype ${JSON.stringify(dtype)} nor safetensors weights`,
        {
          hint: 'Check the repo id, or pick a dtype the repo has (see its onnx/ folder)',
          cause: error,
        },
      );
    },
  );
  return convertOnce(weights.snapshotDir, `${repo.replace('/', '--')}-${first.commit.slice(0, 12)}`, {
    ...options,
    dtype: 'fp32',
  });
}
