// Node-only parts: read vae-oid.npz, build the decoder once and keep it in a cache folder.
import { createHash } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { parseNpz } from '@pali/onnx';
import { writeModel } from '@pali/onnx/node';
import { buildMaskDecoderGraph } from './decoder-graph.js';
import { type VqvaeWeights, vqvaeWeights } from './weights.js';

/** Bumped whenever the graph built from the same file changes, so stale cached models are not reused. */
export const MASK_DECODER_GRAPH_VERSION = 1;

async function readVae(npzPath: string): Promise<Uint8Array> {
  try {
    return await readFile(npzPath);
  } catch (e) {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `Cannot read the segmentation VAE ${npzPath}`, {
      hint: "Pass the path of big_vision's vae-oid.npz (gs://big_vision/paligemma/vae-oid.npz)",
      cause: e,
      details: { file: npzPath },
    });
  }
}

/** The checked decoder weights of a vae-oid.npz on disk. */
export async function readVqvaeWeights(npzPath: string): Promise<VqvaeWeights> {
  return vqvaeWeights(parseNpz(await readVae(npzPath), npzPath), npzPath);
}

export interface PreparedMaskDecoder {
  /** A self-contained .onnx file (all weights inline). */
  modelPath: string;
  /** False when an earlier call had built it. */
  built: boolean;
}

/**
 * Builds the mask decoder ONNX from `npzPath` into `cacheDir` once: the file name carries the npz's
 * SHA-256 and the graph version, so a changed VAE or graph gets a new file. Writes are atomic.
 */
export async function prepareMaskDecoder(npzPath: string, cacheDir: string): Promise<PreparedMaskDecoder> {
  const bytes = await readVae(npzPath);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const modelPath = join(cacheDir, `vqvae-decoder-v${MASK_DECODER_GRAPH_VERSION}-${hash}.onnx`);
  try {
    await access(modelPath);
    return { modelPath, built: false };
  } catch {
    // not cached yet
  }
  const graph = buildMaskDecoderGraph(vqvaeWeights(parseNpz(bytes, npzPath), npzPath));
  await mkdir(cacheDir, { recursive: true });
  await writeModel(graph, modelPath, { externalDataThreshold: Number.POSITIVE_INFINITY });
  return { modelPath, built: true };
}
