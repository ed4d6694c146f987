import { describe, expect, it } from 'vitest';
import { cases, goldenBinary, goldenLogits, goldenSoft } from '../test/golden.js';
import { placeMask, resizeBilinearF32, segmentationBox } from './place-mask.js';

describe('placeMask against big_vision + Pillow (golden logits)', () => {
  it.each(cases.placements.map((p) => [p.note, p] as const))('%s', (_note, p) => {
    const placed = placeMask(goldenLogits(p.codes_index), p.locs, p.width, p.height);
    expect(placed.box).toEqual(p.box);
    const binary = goldenBinary(p);
    expect(placed.binary).toEqual(binary);
    expect(placed.binary.reduce((a, b) => a + b, 0)).toBe(p.binary_count);
    // Same float32 arithmetic as Pillow's resampler: the soft mask is bit-identical.
    expect(placed.soft).toEqual(goldenSoft(p));
  });

  it('covers edge, 1-pixel and degenerate boxes', () => {
    const notes = cases.placements.map((p) => p.note).join(' | ');
    expect(notes).toMatch(/edge/);
    expect(notes).toMatch(/1-pixel/);
    expect(notes).toMatch(/degenerate/);
    const empty = cases.placements.filter((p) => p.box.x2 <= p.box.x1 || p.box.y2 <= p.box.y1);
    expect(empty.length).toBeGreaterThanOrEqual(3);
    for (const p of empty)
      expect(placeMask(goldenLogits(0), p.locs, p.width, p.height).binary.every((v) => v === 0)).toBe(true);
  });
});

describe('segmentationBox', () => {
  it('truncates loc / 1023 · side per axis, y from the height', () => {
    // 1023/1023 · 97 = 97; 512/1023 · 131 = 65.55 → 65; 100/1023 · 97 = 9.48 → 9
    expect(segmentationBox([512, 100, 1023, 1023], 97, 131)).toEqual({ x1: 9, y1: 65, x2: 97, y2: 131 });
  });

  it('rejects bins outside 0..1023 and bad image sizes', () => {
    expect(() => segmentationBox([0, 0, 1024, 10], 10, 10)).toThrow(/0\.\.1023/);
    expect(() => segmentationBox([0, 0, 1.5, 10], 10, 10)).toThrow(/0\.\.1023/);
    expect(() => segmentationBox([0, 0, 10, 10], 0, 10)).toThrow(/positive integer/);
    expect(() => placeMask(new Float32Array(10), [0, 0, 10, 10], 10, 10)).toThrow(/64×64/);
  });
});

describe('resizeBilinearF32', () => {
  it('interpolates a 2×1 ramp like PIL (upscale, edge-clamped support)', () => {
    // PIL: Image.fromarray(np.array([[0, 4]], np.float32)).resize((4, 1), BILINEAR) → [0, 1, 3, 4]
    expect(Array.from(resizeBilinearF32(new Float32Array([0, 4]), 2, 1, 4, 1))).toEqual([0, 1, 3, 4]);
  });
});
