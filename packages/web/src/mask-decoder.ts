import type { MaskCodeDecoder } from '@pali/core';
import { ERROR_CODES, isPaliError, PaliError } from '@pali/errors';
import type { CacheLike } from '@pali/hub/browser';
import { parseNpz, serializeModel } from '@pali/onnx';
import { buildMaskDecoderGraph, MaskDecoder, vqvaeWeights } from '@pali/vqvae';
import { urlFolder } from './model-files.js';
import type { WebLoadSettings } from './types.js';
import { configureOrt, ort, wasmSession } from './web-runtime.js';

/** The VQ-VAE mask decoder from big_vision's vae-oid.npz (a URL, cached like model files, or bytes). */
export async function webMaskDecoder(
  vae: string | Blob | Uint8Array,
  cache: CacheLike | null,
  signal?: AbortSignal,
  /** ORT's wasm settings, when this is the first session of the page or worker. */
  settings: Pick<WebLoadSettings, 'wasmPaths' | 'threads'> = {},
): Promise<MaskCodeDecoder> {
  configureOrt(settings);
  let bytes: Uint8Array;
  let name = 'vae-oid.npz';
  if (typeof vae === 'string') {
    const url = new URL(vae, (globalThis as { location?: { href: string } }).location?.href);
    name = url.pathname.split('/').pop() ?? name;
    const folder = urlFolder(new URL('./', url).href, cache, signal);
    bytes = await folder.bytes(name);
  } else if (vae instanceof Uint8Array) {
    bytes = vae;
  } else {
    bytes = new Uint8Array(await vae.arrayBuffer());
  }
  let model: Uint8Array;
  try {
    model = await serializeModel(buildMaskDecoderGraph(vqvaeWeights(parseNpz(bytes, name), name)));
  } catch (cause) {
    if (isPaliError(cause)) throw cause;
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${name} is not big_vision's VQ-VAE (vae-oid.npz)`, {
      hint: 'Give gs://big_vision/paligemma/vae-oid.npz',
      cause,
    });
  }
  const session = await wasmSession(model);
  const decoder = new MaskDecoder(session, ort.Tensor as never);
  return { decode: (codes, s) => decoder.decode(codes, s), release: () => session.release() };
}
