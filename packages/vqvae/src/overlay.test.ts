import { describe, expect, it } from 'vitest';
import { cases, goldenLogits, sha256 } from '../test/golden.js';
import { drawMasksAndBoxes, OVERLAY_PALETTE } from './overlay.js';
import { placeMask } from './place-mask.js';

describe('drawMasksAndBoxes against Pillow (Image.blend + ImageDraw.rectangle)', () => {
  const o = cases.overlay;
  const rgb = new Uint8Array(Buffer.from(o.image_rgb_base64, 'base64'));
  const objects = o.objects.map((obj) => {
    const { binary, box } = placeMask(goldenLogits(obj.codes_index), obj.locs, o.width, o.height);
    return { box, mask: binary, color: obj.color };
  });

  it('gives the golden pixels for two overlapping masks with boxes (alpha 0.4, 2-pixel lines)', () => {
    const out = drawMasksAndBoxes(rgb, o.width, o.height, objects, {
      alpha: o.alpha,
      lineWidth: o.line_width,
    });
    expect(sha256(out)).toBe(o.expected_sha256);
    expect(out).toEqual(new Uint8Array(Buffer.from(o.expected_rgb_base64, 'base64')));
    expect(out).not.toEqual(rgb); // the input is left alone and the output does differ
  });

  it('uses the palette in turn for objects without a colour', () => {
    expect(o.objects.map((x) => x.color)).toEqual([OVERLAY_PALETTE[0], OVERLAY_PALETTE[1]]);
    const uncoloured = objects.map(({ box, mask }) => ({ box, mask }));
    const a = drawMasksAndBoxes(rgb, o.width, o.height, uncoloured, {
      alpha: o.alpha,
      lineWidth: o.line_width,
    });
    expect(sha256(a)).toBe(o.expected_sha256);
  });

  it('draws nothing for an empty box and rejects mismatched buffers', () => {
    const blank = new Uint8Array(4 * 3 * 3);
    expect(drawMasksAndBoxes(blank, 4, 3, [{ box: { x1: 2, y1: 0, x2: 2, y2: 3 } }])).toEqual(blank);
    expect(() => drawMasksAndBoxes(blank, 5, 3, [])).toThrow(/needs 45/);
    expect(() =>
      drawMasksAndBoxes(blank, 4, 3, [{ box: { x1: 0, y1: 0, x2: 1, y2: 1 }, mask: new Uint8Array(5) }]),
    ).toThrow(/5 pixels/);
    expect(() => drawMasksAndBoxes(blank, 4, 3, [], { alpha: 2 })).toThrow(/alpha/);
  });
});
