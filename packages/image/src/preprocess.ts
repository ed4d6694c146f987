import { ERROR_CODES, PaliError } from '@pali/errors';
import { parseResample, type Resample } from './filters.js';
import { resize } from './resample.js';
import type { RgbImage } from './rgb-image.js';

/**
 * What SiglipImageProcessor does with a decoded RGB image. The field names match @pali/model-folder's
 * parsed preprocessor_config.json, so a parsed config can be passed as it is.
 */
export interface PreprocessOptions {
  /** Square side (224, 448, 896), or [height, width]. */
  size: number | readonly [number, number];
  /** Default bicubic, as the PaliGemma processors use. */
  resample?: Resample | number;
  doResize?: boolean;
  doRescale?: boolean;
  /** Default 1/255. */
  rescaleFactor?: number;
  doNormalize?: boolean;
  /** Per channel (R, G, B); default 0.5 each. */
  imageMean?: readonly number[];
  imageStd?: readonly number[];
}

/** Float32 pixel values in NCHW order, as the vision encoder's `pixel_values` input takes them. */
export interface PixelValues {
  readonly data: Float32Array;
  /** [batch, 3, height, width] */
  readonly dims: readonly [number, number, number, number];
}

function triple(
  values: readonly number[] | undefined,
  fallback: number,
  name: string,
): [number, number, number] {
  const v = values ?? [fallback];
  if (v.length === 1) return [v[0]!, v[0]!, v[0]!];
  if (v.length !== 3) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${name} needs 1 or 3 values, got ${v.length}`, {
      hint: 'Give one value per RGB channel',
    });
  }
  return [v[0]!, v[1]!, v[2]!];
}

/**
 * For each channel, the 256 possible outputs of one byte. HF's PIL backend computes
 * float32(float64(x) * rescale_factor), then (x - mean) / std in float32 with float32 mean and std;
 * a float32 operation equals the float64 one rounded to float32, so Math.fround reproduces it exactly.
 */
export function pixelValueTable(options: Omit<PreprocessOptions, 'size'>): Float32Array[] {
  const doRescale = options.doRescale ?? true;
  const doNormalize = options.doNormalize ?? true;
  const factor = options.rescaleFactor ?? 1 / 255;
  const mean = triple(options.imageMean, 0.5, 'imageMean');
  const std = triple(options.imageStd, 0.5, 'imageStd');
  return [0, 1, 2].map((c) => {
    const table = new Float32Array(256);
    const m = Math.fround(mean[c]!);
    const s = Math.fround(std[c]!);
    for (let v = 0; v < 256; v++) {
      let x = doRescale ? Math.fround(v * factor) : v;
      if (doNormalize) x = Math.fround(Math.fround(x - m) / s);
      table[v] = x;
    }
    return table;
  });
}

function targetSize(size: PreprocessOptions['size']): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `Preprocess size must be positive integers, got ${String(size)}`,
      {
        hint: 'Use the model resolution, e.g. 224, 448 or 896',
      },
    );
  }
  return [h, w];
}

/** Writes one image's channels into `out` at `offset` (planar R, then G, then B). */
function writePlanar(image: RgbImage, tables: Float32Array[], out: Float32Array, offset: number): void {
  const n = image.width * image.height;
  const [r, g, b] = tables as [Float32Array, Float32Array, Float32Array];
  const d = image.data;
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    out[offset + i] = r[d[p]!]!;
    out[offset + n + i] = g[d[p + 1]!]!;
    out[offset + 2 * n + i] = b[d[p + 2]!]!;
  }
}

/**
 * Resize (Pillow-exact), rescale and normalize one or more RGB images into one NCHW batch, exactly as
 * HF's SiglipImageProcessor (PIL backend) produces `pixel_values`.
 */
export function preprocess(images: RgbImage | readonly RgbImage[], options: PreprocessOptions): PixelValues {
  const list = Array.isArray(images) ? (images as readonly RgbImage[]) : [images as RgbImage];
  if (list.length === 0) {
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, 'No images to preprocess', {
      hint: 'Pass at least one image',
    });
  }
  const [h, w] = targetSize(options.size);
  const resample = parseResample(options.resample ?? 'bicubic');
  const tables = pixelValueTable(options);
  const plane = h * w;
  const data = new Float32Array(list.length * 3 * plane);
  list.forEach((image, i) => {
    const sized = options.doResize === false ? image : resize(image, w, h, resample);
    if (sized.width !== w || sized.height !== h) {
      throw new PaliError(
        ERROR_CODES.SHAPE_MISMATCH,
        `Image ${i} is ${sized.width}×${sized.height} but doResize is off and the size is ${w}×${h}`,
        { hint: 'Turn resizing on or pass images of the target size' },
      );
    }
    writePlanar(sized, tables, data, i * 3 * plane);
  });
  return { data, dims: [list.length, 3, h, w] };
}
