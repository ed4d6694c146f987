import { describe, expect, it } from 'vitest';
import { parseResample } from './filters.js';
import { pixelValueTable, preprocess } from './preprocess.js';
import { resize } from './resample.js';
import { createRgbImage, toRgb } from './rgb-image.js';
import { syntheticImage } from './synthetic.js';

describe('preprocess', () => {
  const a = syntheticImage({ width: 50, height: 30, pattern: 'mixed', seed: 1 });
  const b = syntheticImage({ width: 17, height: 90, pattern: 'blocks', seed: 2 });

  it('stacks a batch as the single images one after the other', () => {
    const batch = preprocess([a, b], { size: 32 });
    expect(batch.dims).toEqual([2, 3, 32, 32]);
    const one = preprocess(a, { size: 32 }).data;
    const two = preprocess(b, { size: 32 }).data;
    expect(batch.data.subarray(0, one.length)).toEqual(one);
    expect(batch.data.subarray(one.length)).toEqual(two);
  });

  it('maps bytes with float32 rounding: 0 → -1, 255 → 1, and HF’s value for 128', () => {
    const [r] = pixelValueTable({});
    expect(r![0]).toBe(-1);
    expect(r![255]).toBe(1);
    // float32(128/255) = 0.501960813999176, minus 0.5, over 0.5, in float32.
    expect(r![128]).toBe(Math.fround(Math.fround(Math.fround(128 / 255) - 0.5) / 0.5));
    const plain = pixelValueTable({ doRescale: false, doNormalize: false });
    expect(plain[2]![200]).toBe(200);
  });

  it('writes planar channels: pixel (x, y) channel c at c*H*W + y*W + x', () => {
    const image = createRgbImage(2, 1, new Uint8Array([0, 255, 0, 255, 0, 255]));
    const { data } = preprocess(image, { size: [1, 2], doResize: false });
    expect(Array.from(data)).toEqual([-1, 1, 1, -1, -1, 1]);
  });

  it('rejects wrong sizes and inputs with typed errors', () => {
    expect(() => preprocess(a, { size: 0 })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => preprocess([], { size: 4 })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => preprocess(a, { size: 4, doResize: false })).toThrowError(
      expect.objectContaining({ code: 'SHAPE_MISMATCH' }),
    );
    expect(() => preprocess(a, { size: 4, imageMean: [0.5, 0.5] })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => resize(a, 0, 3)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => createRgbImage(2, 2, new Uint8Array(11))).toThrowError(
      expect.objectContaining({ code: 'SHAPE_MISMATCH' }),
    );
    expect(() => parseResample('cubic')).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(parseResample(3)).toBe('bicubic');
    expect(parseResample('0')).toBe('nearest');
  });

  it('turns grey and grey+alpha into RGB like convert("RGB") (grey repeated, alpha dropped)', () => {
    expect(Array.from(toRgb(2, 1, 1, new Uint8Array([7, 9])).data)).toEqual([7, 7, 7, 9, 9, 9]);
    expect(Array.from(toRgb(1, 1, 2, new Uint8Array([7, 0])).data)).toEqual([7, 7, 7]);
  });
});
