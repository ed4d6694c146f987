import { createRgbImage, type RgbImage } from './rgb-image.js';

/**
 * Deterministic test images that Python (tooling/golden/resize_cases.py) and TypeScript build the same
 * way from a few numbers, so resize goldens need no stored source pixels. Integer arithmetic only
 * (no Math.sin: libm and V8 may differ in the last bit).
 *
 * hash32(i): x = (i * 0x9E3779B1 + seed) mod 2^32, then the "lowbias32" finaliser:
 * x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16 (all mod 2^32).
 * Patterns, for byte index i = (y * width + x) * 3 + c:
 * - noise: hash32(i) >> 24
 * - gradient: c0 = x*255 // max(w-1,1), c1 = y*255 // max(h-1,1), c2 = (x+y)*255 // max(w+h-2,1)
 * - mixed: gradient + (hash32(i) >> 27) - 16, clamped to 0..255 (gradient with ±16 noise)
 * - blocks: square blocks of (1 + seed mod 13) pixels, block b = (y // size) * ceil(w / size) + x // size
 *   coloured hash32(b * 3 + c) >> 24: hard edges that make the cubic lobes overshoot and exercise clipping
 */
export type SyntheticPattern = 'noise' | 'gradient' | 'mixed' | 'blocks';

export interface SyntheticSpec {
  width: number;
  height: number;
  pattern: SyntheticPattern;
  seed: number;
}

function hash32(i: number, seed: number): number {
  let x = (Math.imul(i, 0x9e3779b1) + seed) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

function gradient(x: number, y: number, c: number, w: number, h: number): number {
  if (c === 0) return Math.floor((x * 255) / Math.max(w - 1, 1));
  if (c === 1) return Math.floor((y * 255) / Math.max(h - 1, 1));
  return Math.floor(((x + y) * 255) / Math.max(w + h - 2, 1));
}

export function syntheticImage(spec: SyntheticSpec): RgbImage {
  const { width: w, height: h, pattern, seed } = spec;
  const image = createRgbImage(w, h);
  const d = image.data;
  const s = seed >>> 0;
  if (pattern === 'noise') {
    for (let i = 0; i < d.length; i++) d[i] = hash32(i, s) >>> 24;
    return image;
  }
  const block = 1 + (s % 13);
  const blocksPerRow = Math.ceil(w / block);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * w + x) * 3 + c;
        let v: number;
        if (pattern === 'gradient') {
          v = gradient(x, y, c, w, h);
        } else if (pattern === 'mixed') {
          v = gradient(x, y, c, w, h) + (hash32(i, s) >>> 27) - 16;
          v = v < 0 ? 0 : Math.min(v, 255);
        } else {
          const b = Math.floor(y / block) * blocksPerRow + Math.floor(x / block);
          v = hash32(b * 3 + c, s) >>> 24;
        }
        d[i] = v;
      }
    }
  }
  return image;
}
