/**
 * Draws segmentation results over an RGB image, platform-free (the CLI writes the result as PNG):
 * each object's mask blended in its colour, then its box outlined. Pixel-exact with Pillow's
 * `Image.composite(Image.blend(image, colour, alpha), image, mask)` followed by
 * `ImageDraw.rectangle([x1, y1, x2 - 1, y2 - 1], outline=colour, width=lineWidth)`.
 */
import { ERROR_CODES, PaliError } from '@pali/errors';
import type { PixelBox } from './place-mask.js';

export type Rgb = readonly [number, number, number];

/** Distinct, readable colours, used in turn for objects without their own. */
export const OVERLAY_PALETTE: readonly Rgb[] = [
  [230, 25, 75],
  [60, 180, 75],
  [0, 130, 200],
  [255, 225, 25],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
];

export interface OverlayObject {
  /** In pixels, x2/y2 exclusive; an empty box draws no outline. */
  box: PixelBox;
  /** [height, width] row-major, non-zero = inside; omitted for a box only. */
  mask?: Uint8Array;
  color?: Rgb;
}

export interface OverlayOptions {
  /** Opacity of the masks, 0..1 (0.5). */
  alpha?: number;
  /** Box outline width in pixels, drawn inside the box; 0 for none (2). */
  lineWidth?: number;
}

/** Returns a new RGB buffer (3 bytes per pixel, row-major); `rgb` is left unchanged. */
export function drawMasksAndBoxes(
  rgb: Uint8Array,
  width: number,
  height: number,
  objects: readonly OverlayObject[],
  options: OverlayOptions = {},
): Uint8Array {
  const alpha = options.alpha ?? 0.5;
  const lineWidth = options.lineWidth ?? 2;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width <= 0 || height <= 0)
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `Image size ${width}×${height} is not positive integers`,
    );
  if (rgb.length !== width * height * 3)
    throw new PaliError(
      ERROR_CODES.SHAPE_MISMATCH,
      `RGB buffer has ${rgb.length} bytes; ${width}×${height} needs ${width * height * 3}`,
    );
  if (!(alpha >= 0 && alpha <= 1))
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `alpha ${alpha} is not in 0..1`);
  if (!Number.isSafeInteger(lineWidth) || lineWidth < 0)
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `lineWidth ${lineWidth} is not a non-negative integer`);
  const out = Uint8Array.from(rgb);
  // Pillow's Blend.c: (UINT8)(in1 + alpha * (in2 - in1)) in C float arithmetic.
  const a = Math.fround(alpha);
  const blend = (c: number, to: number) => Math.trunc(Math.fround(c + Math.fround(a * (to - c))));
  objects.forEach((o, k) => {
    const color = o.color ?? OVERLAY_PALETTE[k % OVERLAY_PALETTE.length]!;
    if (o.mask) {
      if (o.mask.length !== width * height)
        throw new PaliError(
          ERROR_CODES.SHAPE_MISMATCH,
          `Mask ${k} has ${o.mask.length} pixels, the image ${width * height}`,
        );
      for (let i = 0; i < o.mask.length; i++) {
        if (o.mask[i] === 0) continue;
        for (let c = 0; c < 3; c++) out[i * 3 + c] = blend(out[i * 3 + c]!, color[c]!);
      }
    }
    // Clip to the image; the band is lineWidth pixels inside the (unclipped) box.
    const { x1, y1, x2, y2 } = o.box;
    if (lineWidth === 0 || x2 <= x1 || y2 <= y1) return;
    for (let y = Math.max(y1, 0); y < Math.min(y2, height); y++) {
      for (let x = Math.max(x1, 0); x < Math.min(x2, width); x++) {
        const inset = Math.min(x - x1, x2 - 1 - x, y - y1, y2 - 1 - y);
        if (inset >= lineWidth) continue;
        const i = (y * width + x) * 3;
        out[i] = color[0];
        out[i + 1] = color[1];
        out[i + 2] = color[2];
      }
    }
  });
  return out;
}
