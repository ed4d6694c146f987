import { ERROR_CODES, PaliError } from '@pali/errors';
import { FILTERS, type Filter, parseResample, type Resample } from './filters.js';
import type { RgbImage } from './rgb-image.js';
import { convolveWasm } from './wasm/kernels.js';

/**
 * Pillow's `Image.resize(size, resample)` for RGB images, byte for byte: the two-pass convolution of
 * `src/libImaging/Resample.c` (kernel widened by the scale when shrinking, coefficients in 22-bit fixed
 * point, horizontal pass first over only the rows the vertical pass reads) and, for NEAREST, the
 * affine scaling of `Geometry.c` (ImagingScaleAffine with its accumulated float64 offsets).
 */

/** 32 - 8 - 2: 8 bits for the result, 2 for overflow of negative lobes and sums above 1. */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

export interface Coefficients {
  /** Taps per output sample (room reserved; `bounds` says how many are used). */
  readonly ksize: number;
  /** For each output sample: first input index, number of taps. */
  readonly bounds: Int32Array;
  /** Fixed-point weights, `ksize` per output sample. */
  readonly weights: Int32Array;
}

/** C's (int) cast: truncation toward zero. */
const trunc = Math.trunc;

/** precompute_coeffs + normalize_coeffs_8bpc, for the box [in0, in1) of an axis of inSize samples. */
export function precomputeCoefficients(
  inSize: number,
  in0: number,
  in1: number,
  outSize: number,
  filter: Filter,
): Coefficients {
  // box coordinates are C floats there; whole pixel boxes are exact in float32.
  const scale = Math.fround(Math.fround(in1) - Math.fround(in0)) / outSize;
  const filterscale = Math.max(scale, 1.0);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    let ww = 0.0;
    let xmin = trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    for (let x = 0; x < xmax; x++) {
      const w = filter.kernel((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0.0 ? k[x]! / ww : k[x]!;
      weights[base + x] = v < 0 ? trunc(-0.5 + v * ONE) : trunc(0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

/** clip8: the sum shifted down to 8 bits, clamped to 0..255 (Pillow's lookup table does the same). */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : Math.min(v, 255);
}

/** ImagingResampleHorizontal_8bpc over rows [offset, offset + outRows) of an RGB image. */
function resampleHorizontal(
  src: Uint8Array,
  srcWidth: number,
  offset: number,
  outRows: number,
  outWidth: number,
  c: Coefficients,
): Uint8Array {
  const { ksize, bounds, weights } = c;
  const out = new Uint8Array(outWidth * outRows * 3);
  const rowStride = srcWidth * 3;
  let o = 0;
  for (let yy = 0; yy < outRows; yy++) {
    const row = (yy + offset) * rowStride;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2]!;
      const xmax = bounds[xx * 2 + 1]!;
      const kb = xx * ksize;
      let ss0 = HALF;
      let ss1 = HALF;
      let ss2 = HALF;
      let p = row + xmin * 3;
      for (let x = 0; x < xmax; x++, p += 3) {
        const w = weights[kb + x]!;
        // int32 wrap-around arithmetic, as C's int sums.
        ss0 = (ss0 + Math.imul(src[p]!, w)) | 0;
        ss1 = (ss1 + Math.imul(src[p + 1]!, w)) | 0;
        ss2 = (ss2 + Math.imul(src[p + 2]!, w)) | 0;
      }
      out[o++] = clip8(ss0);
      out[o++] = clip8(ss1);
      out[o++] = clip8(ss2);
    }
  }
  return out;
}

/** ImagingResampleVertical_8bpc: each output row is a weighted sum of whole input rows. */
function resampleVertical(src: Uint8Array, width: number, outHeight: number, c: Coefficients): Uint8Array {
  const rowLen = width * 3;
  const out = new Uint8Array(rowLen * outHeight);
  const acc = new Int32Array(rowLen);
  const { ksize, bounds, weights } = c;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2]!;
    const ymax = bounds[yy * 2 + 1]!;
    const kb = yy * ksize;
    acc.fill(HALF);
    // Row by row keeps the reads sequential; the sums are the same integers in any order.
    for (let y = 0; y < ymax; y++) {
      const w = weights[kb + y]!;
      if (w === 0) continue;
      const row = (y + ymin) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] = acc[i]! + src[row + i]! * w;
    }
    const o = yy * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]!);
  }
  return out;
}

/** ImagingResampleInner with the box (0, 0, width, height). */
function resampleConvolution(image: RgbImage, width: number, height: number, filter: Filter): Uint8Array {
  const needHorizontal = width !== image.width;
  const needVertical = height !== image.height;
  const vert = precomputeCoefficients(image.height, 0, image.height, height, filter);
  const yFirst = vert.bounds[0]!;
  const yLast = vert.bounds[height * 2 - 2]! + vert.bounds[height * 2 - 1]!;
  const horiz = needHorizontal
    ? precomputeCoefficients(image.width, 0, image.width, width, filter)
    : undefined;
  // The vertical pass then reads the temporary image, which starts at source row yFirst.
  const bounds = horiz ? vert.bounds.map((v, i) => (i % 2 === 0 ? v - yFirst : v)) : vert.bounds;
  const viaWasm = convolveWasm({
    src: image.data,
    srcWidth: image.width,
    ...(horiz && {
      horizontal: { coefficients: horiz, offset: yFirst, rows: yLast - yFirst, outWidth: width },
    }),
    ...(needVertical && { vertical: { coefficients: { ...vert, bounds }, outHeight: height } }),
  });
  if (viaWasm) return viaWasm;
  let data = image.data;
  if (horiz) data = resampleHorizontal(data, image.width, yFirst, yLast - yFirst, width, horiz);
  if (needVertical) data = resampleVertical(data, width, height, { ...vert, bounds });
  return data === image.data ? data.slice() : data;
}

/** ImagingScaleAffine (NEAREST): source positions accumulate in float64 as Pillow's loop does. */
function resampleNearest(image: RgbImage, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  const a0 = Math.fround(image.width) / width;
  const a4 = Math.fround(image.height) / height;
  const coord = (v: number) => (v < 0.0 ? -1 : trunc(v));
  const xin = new Int32Array(width);
  let xo = 0 + a0 * 0.5;
  for (let x = 0; x < width; x++) {
    xin[x] = coord(xo);
    xo += a0;
  }
  let yo = 0 + a4 * 0.5;
  const rowLen = image.width * 3;
  for (let y = 0; y < height; y++) {
    const yi = coord(yo);
    yo += a4;
    if (yi < 0 || yi >= image.height) continue;
    const row = yi * rowLen;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      const xi = xin[x]!;
      if (xi < 0 || xi >= image.width) continue;
      const p = row + xi * 3;
      out[o] = image.data[p]!;
      out[o + 1] = image.data[p + 1]!;
      out[o + 2] = image.data[p + 2]!;
    }
  }
  return out;
}

/**
 * `PIL.Image.resize((width, height), resample)` of an RGB image (reducing_gap None, no box), exact to
 * the byte. Resample names or Pillow numbers; bicubic is what the PaliGemma processor uses.
 */
export function resize(
  image: RgbImage,
  width: number,
  height: number,
  resample: Resample | number = 'bicubic',
): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `Resize target must be positive integers, got ${width}×${height}`,
      {
        hint: 'Pass a size of at least 1×1',
      },
    );
  }
  const mode = parseResample(resample);
  if (width === image.width && height === image.height) {
    return { width, height, data: image.data.slice() };
  }
  const data =
    mode === 'nearest'
      ? resampleNearest(image, width, height)
      : resampleConvolution(image, width, height, FILTERS[mode]);
  return { width, height, data };
}
