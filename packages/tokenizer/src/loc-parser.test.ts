import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatLocations, parseDetection, parseSegmentation } from './loc-parser.js';

const loc = (v: number) => `<loc${String(v).padStart(4, '0')}>`;
const seg = (v: number) => `<seg${String(v).padStart(3, '0')}>`;
const image = { width: 640, height: 480 };

describe('parseDetection', () => {
  it('reads y-first locations and maps each axis to the original image on its own', () => {
    // REFERENCE §7: pixel = round(bin / 1024 · side); y bins use the height, x bins the width.
    const text = `${loc(256)}${loc(128)}${loc(768)}${loc(1023)} cat ; ${loc(0)}${loc(0)}${loc(512)}${loc(512)} big dog`;
    const { objects, skipped } = parseDetection(text, image);
    expect(skipped).toEqual([]);
    expect(objects).toEqual([
      {
        label: 'cat',
        box: { x1: 80, y1: 120, x2: 639, y2: 360 }, // 128/1024·640, 256/1024·480, round(1023/1024·640), 768/1024·480
        normalized: { x1: 0.125, y1: 0.25, x2: 1023 / 1024, y2: 0.75 },
        locs: [256, 128, 768, 1023],
      },
      {
        label: 'big dog',
        box: { x1: 0, y1: 0, x2: 320, y2: 240 },
        normalized: { x1: 0, y1: 0, x2: 0.5, y2: 0.5 },
        locs: [0, 0, 512, 512],
      },
    ]);
  });

  it('rounds half pixels as Math.round does (half up)', () => {
    // 1/1024 · 512 = 0.5 → 1; 3/1024 · 512 = 1.5 → 2
    const { objects } = parseDetection(`${loc(1)}${loc(3)}${loc(1)}${loc(3)} x`, { width: 512, height: 512 });
    expect(objects[0]?.box).toEqual({ x1: 2, y1: 1, x2: 2, y2: 1 });
  });

  it('uses the last four of extra loc tokens and reports the rest', () => {
    const text = `${loc(9)}${loc(10)}${loc(20)}${loc(30)}${loc(40)} cat`;
    const { objects, skipped } = parseDetection(text, image);
    expect(objects.map((o) => o.locs)).toEqual([[10, 20, 30, 40]]);
    expect(skipped).toEqual([{ reason: 'extra-loc', text: loc(9), start: 0, end: 9 }]);
  });

  it('drops objects with missing loc tokens and says where they were', () => {
    const bad = `${loc(1)}${loc(2)}${loc(3)} cat`;
    const text = `${bad} ; ${loc(1)}${loc(2)}${loc(3)}${loc(4)} dog`;
    const { objects, skipped } = parseDetection(text, image);
    expect(objects.map((o) => o.label)).toEqual(['dog']);
    expect(skipped).toEqual([{ reason: 'missing-loc', text: bad, start: 0, end: bad.length }]);
  });

  it('skips inverted boxes by default and swaps them on request, reporting both ways', () => {
    const text = `${loc(500)}${loc(100)}${loc(200)}${loc(300)} cat`;
    const skipped = parseDetection(text, image);
    expect(skipped.objects).toEqual([]);
    expect(skipped.skipped.map((s) => s.reason)).toEqual(['inverted-box']);
    const swapped = parseDetection(text, image, { inverted: 'swap' });
    expect(swapped.objects[0]?.locs).toEqual([200, 100, 500, 300]);
    expect(swapped.skipped.map((s) => s.reason)).toEqual(['inverted-box']);
  });

  it('keeps empty labels, ignores stray separators and reports stray text', () => {
    const text = ` ; ;junk ${loc(1)}${loc(2)}${loc(3)}${loc(4)} ;; ${loc(5)}${loc(6)}${loc(7)}${loc(8)}   ; `;
    const { objects, skipped } = parseDetection(text, image);
    expect(objects.map((o) => [o.label, o.locs])).toEqual([
      ['', [1, 2, 3, 4]],
      ['', [5, 6, 7, 8]],
    ]);
    expect(skipped).toEqual([{ reason: 'stray-text', text: 'junk', start: 4, end: 8 }]);
  });

  it('splits objects the model forgot to separate with ";"', () => {
    const text = `${loc(1)}${loc(2)}${loc(3)}${loc(4)} cat${loc(5)}${loc(6)}${loc(7)}${loc(8)} dog`;
    expect(parseDetection(text, image).objects.map((o) => o.label)).toEqual(['cat', 'dog']);
  });

  it('drops locations past the 1024 bins and ignores seg tokens in detection output', () => {
    const text = `${loc(1)}${loc(2)}${loc(3)}<loc1024> a ; ${loc(1)}${loc(2)}${loc(3)}${loc(4)}${seg(5)} b`;
    const { objects, skipped } = parseDetection(text, image);
    expect(objects.map((o) => o.label)).toEqual(['b']);
    expect(skipped.map((s) => s.reason)).toEqual(['loc-out-of-range', 'unexpected-seg']);
  });

  it('clamps pixel boxes to the image', () => {
    const { objects } = parseDetection(`${loc(0)}${loc(0)}${loc(1023)}${loc(1023)} x`, {
      width: 1,
      height: 1,
    });
    expect(objects[0]?.box).toEqual({ x1: 0, y1: 0, x2: 1, y2: 1 });
  });

  it('returns nothing, without throwing, for text with no locations', () => {
    expect(parseDetection('', image)).toEqual({ objects: [], skipped: [] });
    expect(parseDetection('   ', image)).toEqual({ objects: [], skipped: [] });
    expect(parseDetection('a cat', image).skipped.map((s) => s.reason)).toEqual(['stray-text']);
  });

  it('refuses an image size that is not positive', () => {
    expect(() => parseDetection('', { width: 0, height: 10 })).toThrowError(/positive width and height/);
    expect(() => parseDetection('', { width: Number.NaN, height: 10 })).toThrowError(/positive/);
  });
});

describe('parseSegmentation', () => {
  const codes = Array.from({ length: 16 }, (_, i) => (i * 37) % 128);
  const object = `${loc(100)}${loc(200)}${loc(300)}${loc(400)}${codes.map(seg).join('')} cat`;

  it('reads the box and the 16 mask codes', () => {
    const { objects, skipped } = parseSegmentation(`${object} ; ${object.replace('cat', 'dog')}`, image);
    expect(skipped).toEqual([]);
    expect(objects.map((o) => [o.label, o.locs, o.codes])).toEqual([
      ['cat', [100, 200, 300, 400], codes],
      ['dog', [100, 200, 300, 400], codes],
    ]);
    expect(objects[0]?.box).toEqual({ x1: 125, y1: 47, x2: 250, y2: 141 }); // round(46.875)=47, round(140.625)=141
  });

  it('drops objects with too few codes or codes past the codebook', () => {
    const few = `${loc(1)}${loc(2)}${loc(3)}${loc(4)}${codes.slice(0, 15).map(seg).join('')} a`;
    const big = `${loc(1)}${loc(2)}${loc(3)}${loc(4)}${codes.slice(0, 15).map(seg).join('')}<seg128> b`;
    const { objects, skipped } = parseSegmentation(`${few};${big};${object}`, image);
    expect(objects.map((o) => o.label)).toEqual(['cat']);
    expect(skipped.map((s) => s.reason)).toEqual(['missing-seg', 'seg-out-of-range']);
  });

  it('uses the last 16 of extra codes and reports the rest', () => {
    const text = `${loc(1)}${loc(2)}${loc(3)}${loc(4)}${seg(99)}${codes.map(seg).join('')} cat`;
    const { objects, skipped } = parseSegmentation(text, image);
    expect(objects[0]?.codes).toEqual(codes);
    expect(skipped.map((s) => [s.reason, s.text])).toEqual([['extra-seg', seg(99)]]);
  });
});

const label = fc
  .string({ unit: fc.constantFrom(...'abcdefghij xyzÄé日🙂-_.,'.split('')), minLength: 1, maxLength: 12 })
  .map((s) => s.trim())
  .filter((s) => s.length > 0);
const bin = fc.integer({ min: 0, max: 1023 });
const box = fc
  .tuple(bin, bin, bin, bin)
  .map(([a, b, c, d]) => [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)] as const);
const size = fc.record({
  width: fc.integer({ min: 1, max: 5000 }),
  height: fc.integer({ min: 1, max: 5000 }),
});

/** Strings built from the pieces model output is made of, in any order and number. */
const adversarial = fc
  .array(
    fc.oneof(
      bin.map((v) => `<loc${String(v).padStart(4, '0')}>`),
      fc.integer({ min: 0, max: 9999 }).map((v) => `<loc${String(v).padStart(4, '0')}>`),
      fc.integer({ min: 0, max: 999 }).map((v) => `<seg${String(v).padStart(3, '0')}>`),
      fc.constantFrom(
        ';',
        ' ; ',
        ' ',
        '<loc',
        '<seg12>',
        '<loc12345>',
        '>',
        '<',
        '\n',
        '<eos>',
        '\uFFFD',
        '\uD800',
      ),
      fc.string(),
      label,
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

describe('parsers on arbitrary text (fast-check)', () => {
  it('never throw on random or adversarial strings and return only valid objects', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), adversarial), size, (text, img) => {
        for (const parse of [parseDetection, parseSegmentation]) {
          for (const inverted of ['skip', 'swap'] as const) {
            const { objects, skipped } = parse(text, img, { inverted });
            for (const o of objects) {
              expect(o.box.x1).toBeGreaterThanOrEqual(0);
              expect(o.box.x2).toBeLessThanOrEqual(img.width);
              expect(o.box.y2).toBeLessThanOrEqual(img.height);
              expect(o.box.x1).toBeLessThanOrEqual(o.box.x2);
              expect(o.box.y1).toBeLessThanOrEqual(o.box.y2);
              expect(o.locs.every((v) => Number.isInteger(v) && v >= 0 && v < 1024)).toBe(true);
              if ('codes' in o) expect((o as { codes: number[] }).codes).toHaveLength(16);
            }
            for (const s of skipped) expect(text.slice(s.start, s.end)).toBe(s.text);
          }
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('round-trip well-formed detection strings', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ label, locs: box }), { maxLength: 8 }), size, (objects, img) => {
        const text = formatLocations(objects.map((o) => ({ label: o.label, locs: [...o.locs] })));
        const parsed = parseDetection(text, img);
        expect(parsed.skipped).toEqual([]);
        expect(parsed.objects.map((o) => ({ label: o.label, locs: o.locs }))).toEqual(
          objects.map((o) => ({ label: o.label, locs: [...o.locs] })),
        );
        for (const o of parsed.objects) {
          expect(o.normalized.y1 * 1024).toBe(o.locs[0]);
          expect(o.box.x1).toBe(Math.round((o.locs[1] / 1024) * img.width));
        }
      }),
    );
  });

  it('round-trip well-formed segmentation strings', () => {
    const codes = fc.array(fc.integer({ min: 0, max: 127 }), { minLength: 16, maxLength: 16 });
    fc.assert(
      fc.property(
        fc.array(fc.record({ label, locs: box, codes }), { maxLength: 6 }),
        size,
        (objects, img) => {
          const text = formatLocations(objects.map((o) => ({ ...o, locs: [...o.locs] })));
          const parsed = parseSegmentation(text, img);
          expect(parsed.skipped).toEqual([]);
          expect(parsed.objects.map((o) => ({ label: o.label, locs: o.locs, codes: o.codes }))).toEqual(
            objects.map((o) => ({ label: o.label, locs: [...o.locs], codes: o.codes })),
          );
        },
      ),
    );
  });
});
