/**
 * Puts a decoded 64×64 mask into its box in the original image, as big_vision's segmentation
 * evaluator does: box = int(loc / 1023 · side) per axis (truncation; REFERENCE.md §7 — detection
 * boxes elsewhere use round(loc / 1024 · side), which can differ by a pixel), the mask resized to the
 * box with PIL's BILINEAR filter on a float ('F') image, binary = value > 0. The soft mask is
 * clip(0.5 · value + 0.5, 0, 1), the form big_vision's PaliGemma demo draws (the decoder's output
 * lies in [-1, 1]). A box that is empty after truncation gets empty masks (big_vision: invalid).
 */
import { ERROR_CODES, PaliError } from '@pali/errors';
import { MASK_SIDE } from './weights.js';

/** big_vision's segmentation code maps loc tokens with / 1023. */
export const SEGMENTATION_LOC_DIVISOR = 1023;

/** In pixels, x2/y2 exclusive. */
export interface PixelBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface PlacedMask {
  /** [height, width] row-major in [0, 1]; 0 outside the box. */
  soft: Float32Array;
  /** [height, width] row-major 0/1. */
  binary: Uint8Array;
  box: PixelBox;
}

function checkSize(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `Image ${name} ${v} is not a positive integer`);
}

/** [y1, x1, y2, x2] loc bins (0..1023, y first as the model writes them) → pixel box. */
export function segmentationBox(
  locs: readonly [number, number, number, number],
  imageWidth: number,
  imageHeight: number,
): PixelBox {
  checkSize('width', imageWidth);
  checkSize('height', imageHeight);
  if (locs.length !== 4 || !locs.every((v) => Number.isInteger(v) && v >= 0 && v <= 1023))
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `Box locs [${locs.join(', ')}] are not 4 bins in 0..1023`,
      {
        hint: 'Pass the numbers of the 4 <locNNNN> tokens, y1 x1 y2 x2',
      },
    );
  const [y1, x1, y2, x2] = locs;
  const px = (v: number, side: number) => Math.trunc((v / SEGMENTATION_LOC_DIVISOR) * side);
  return { x1: px(x1, imageWidth), y1: px(y1, imageHeight), x2: px(x2, imageWidth), y2: px(y2, imageHeight) };
}

/** Pillow's precompute_coeffs (Resample.c) for the bilinear filter, in double precision. */
function coefficients(
  inSize: number,
  outSize: number,
): { bounds: Int32Array; weights: Float64Array; ksize: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Float64Array(outSize * ksize);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // (int)(v + 0.5) in C truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      weights[xx * ksize + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) weights[xx * ksize + x]! /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

/**
 * PIL `Image.resize((outW, outH), BILINEAR)` of a float32 ('F') image: horizontal pass, then vertical,
 * each summing in double and storing float32, over only the rows the vertical pass reads.
 */
export function resizeBilinearF32(
  src: Float32Array,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
): Float32Array {
  if (inW === outW && inH === outH) return Float32Array.from(src);
  const v = coefficients(inH, outH);
  const first = v.bounds[0]!;
  const last = v.bounds[(outH - 1) * 2]! + v.bounds[(outH - 1) * 2 + 1]!;
  let rows = src;
  let rowOffset = 0;
  let width = inW;
  if (inW !== outW) {
    const h = coefficients(inW, outW);
    rows = new Float32Array((last - first) * outW);
    for (let y = first; y < last; y++) {
      for (let xx = 0; xx < outW; xx++) {
        const xmin = h.bounds[xx * 2]!;
        const n = h.bounds[xx * 2 + 1]!;
        let s = 0;
        for (let x = 0; x < n; x++) s += src[y * inW + xmin + x]! * h.weights[xx * h.ksize + x]!;
        rows[(y - first) * outW + xx] = s;
      }
    }
    rowOffset = first;
    width = outW;
  }
  if (inH === outH) return rows;
  const out = new Float32Array(outW * outH);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = v.bounds[yy * 2]! - rowOffset;
    const n = v.bounds[yy * 2 + 1]!;
    for (let xx = 0; xx < outW; xx++) {
      let s = 0;
      for (let y = 0; y < n; y++) s += rows[(ymin + y) * width + xx]! * v.weights[yy * v.ksize + y]!;
      out[yy * outW + xx] = s;
    }
  }
  return out;
}

/**
 * The 64×64 logits of one object placed into its box: `locs` are the object's 4 loc bins
 * [y1, x1, y2, x2]; the masks cover the whole image.
 */
export function placeMask(
  logits64: Float32Array,
  locs: readonly [number, number, number, number],
  imageWidth: number,
  imageHeight: number,
): PlacedMask {
  if (logits64.length !== MASK_SIDE * MASK_SIDE)
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `Mask logits have ${logits64.length} values, expected 64×64`,
    );
  const box = segmentationBox(locs, imageWidth, imageHeight);
  const soft = new Float32Array(imageWidth * imageHeight);
  const binary = new Uint8Array(imageWidth * imageHeight);
  const w = box.x2 - box.x1;
  const h = box.y2 - box.y1;
  if (w <= 0 || h <= 0) return { soft, binary, box };
  const resized = resizeBilinearF32(logits64, MASK_SIDE, MASK_SIDE, w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = resized[y * w + x]!;
      const i = (box.y1 + y) * imageWidth + box.x1 + x;
      soft[i] = Math.min(Math.max(Math.fround(0.5 * v) + 0.5, 0), 1);
      binary[i] = v > 0 ? 1 : 0;
    }
  }
  return { soft, binary, box };
}
