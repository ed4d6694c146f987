/**
 * The arrays of big_vision's `vae-oid.npz` that the mask decoder uses (REFERENCE.md §7), checked by
 * name, rank and agreeing channel counts. PyTorch layouts: Conv [out, in, kh, kw], ConvTranspose
 * [in, out, kh, kw]. Channel counts are read from the file (the real one: codebook [128, 512],
 * 128 → 128 → 64 → 32 → 16 → 1); other arrays in the file (the encoder's) are ignored.
 */
import { ERROR_CODES, PaliError } from '@pali/errors';
import { type NpyArray, npyToFloat32 } from '@pali/onnx';

/** Number of `<segNNN>` codes, so the codebook's rows. */
export const CODEBOOK_SIZE = 128;
/** Codes per mask: a 4×4 grid, row-major. */
export const CODES_PER_MASK = 16;
/** Side of the decoded mask. */
export const MASK_SIDE = 64;

export const EMBEDDING = '_vq_vae._embedding';
export const RES_BLOCKS = ['decoder.2.net', 'decoder.3.net'] as const;
export const UPSAMPLES = ['decoder.4', 'decoder.6', 'decoder.8', 'decoder.10'] as const;

export interface ConvWeights {
  /** PyTorch layout (see above). */
  weight: Float32Array;
  bias: Float32Array;
  weightDims: [number, number, number, number];
}

export interface VqvaeWeights {
  /** [CODEBOOK_SIZE, embedDim], row-major. */
  codebook: Float32Array;
  embedDim: number;
  /** Channels after the first 1×1 conv and through the residual blocks. */
  hidden: number;
  input: ConvWeights;
  /** Per residual block: conv3×3, conv3×3, conv1×1. */
  resBlocks: [ConvWeights, ConvWeights, ConvWeights][];
  /** The four ConvTranspose(k4, s2, pad 1) layers. */
  upsamples: ConvWeights[];
  output: ConvWeights;
}

const EXPECTED_FILE = "big_vision's vae-oid.npz";
const HINT =
  `Pass ${EXPECTED_FILE}, the PaliGemma segmentation VAE (gs://big_vision/paligemma/vae-oid.npz, ` +
  'also in the Hugging Face space big-vision/paligemma-hf)';

function wrong(source: string, what: string, name: string): PaliError {
  return new PaliError(ERROR_CODES.CORRUPT_FILE, `${source} is not ${EXPECTED_FILE}: ${what}`, {
    hint: HINT,
    details: { file: source, array: name },
  });
}

/** Float32 data of a float array of exactly `dims` (null: any size on that axis); returns its dims. */
function take(
  arrays: ReadonlyMap<string, NpyArray>,
  source: string,
  name: string,
  dims: readonly (number | null)[],
): { data: Float32Array; dims: number[] } {
  const a = arrays.get(name);
  if (!a) throw wrong(source, `array "${name}" is missing`, name);
  const ok = a.shape.length === dims.length && dims.every((d, i) => d === null || a.shape[i] === d);
  if (!ok) {
    const want = dims.map((d) => d ?? '?').join(', ');
    throw wrong(source, `array "${name}" has shape [${a.shape.join(', ')}], expected [${want}]`, name);
  }
  if (a.shape.some((d) => d === 0)) throw wrong(source, `array "${name}" is empty`, name);
  if (a.dtype !== 'float32' && a.dtype !== 'float16' && a.dtype !== 'float64')
    throw wrong(source, `array "${name}" is ${a.dtype}, expected a float type`, name);
  return { data: npyToFloat32(a), dims: [...a.shape] };
}

function convLayer(
  arrays: ReadonlyMap<string, NpyArray>,
  source: string,
  name: string,
  dims: readonly (number | null)[],
  outAxis: 0 | 1,
): ConvWeights {
  const w = take(arrays, source, `${name}.weight`, dims);
  const out = w.dims[outAxis]!;
  const b = take(arrays, source, `${name}.bias`, [out]);
  return { weight: w.data, bias: b.data, weightDims: w.dims as ConvWeights['weightDims'] };
}

/**
 * Checks and converts the decoder's arrays of an npz read with `parseNpz` / `readNpzFile`.
 * `source` names the file in errors. Throws PaliError CORRUPT_FILE naming the first wrong array.
 */
export function vqvaeWeights(arrays: ReadonlyMap<string, NpyArray>, source = 'the VAE file'): VqvaeWeights {
  const emb = take(arrays, source, EMBEDDING, [CODEBOOK_SIZE, null]);
  const embedDim = emb.dims[1]!;
  const input = convLayer(arrays, source, 'decoder.0', [null, embedDim, 1, 1], 0);
  const hidden = input.weightDims[0];
  const resBlocks = RES_BLOCKS.map((block): [ConvWeights, ConvWeights, ConvWeights] => [
    convLayer(arrays, source, `${block}.0`, [hidden, hidden, 3, 3], 0),
    convLayer(arrays, source, `${block}.2`, [hidden, hidden, 3, 3], 0),
    convLayer(arrays, source, `${block}.4`, [hidden, hidden, 1, 1], 0),
  ]);
  let channels = hidden;
  const upsamples = UPSAMPLES.map((name) => {
    const layer = convLayer(arrays, source, name, [channels, null, 4, 4], 1);
    channels = layer.weightDims[1];
    return layer;
  });
  const output = convLayer(arrays, source, 'decoder.12', [1, channels, 1, 1], 0);
  return { codebook: emb.data, embedDim, hidden, input, resBlocks, upsamples, output };
}
