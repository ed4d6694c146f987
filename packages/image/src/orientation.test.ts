import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sniffFormat } from './format.js';
import { decodeImage } from './node/decode.js';
import { applyOrientation, readExifOrientation } from './orientation.js';
import { decodeCases, FIXTURES } from './test-support/fixtures.js';

const read = (file: string) => readFileSync(`${FIXTURES}resize/${file}`);

describe('EXIF orientation like Pillow’s exif_transpose', () => {
  it('reads the tag from JPEG, PNG and WebP files (1 when absent)', () => {
    for (const c of decodeCases()) {
      const bytes = read(c.file);
      const tagged = /orientation-(\d)\.(jpg|png|webp)$/.exec(c.file);
      const format = sniffFormat(bytes);
      if (format === 'tiff' || format === 'avif' || format === 'gif') continue;
      expect(readExifOrientation(bytes, format), c.file).toBe(tagged ? Number(tagged[1]) : 1);
    }
  });

  for (let orientation = 1; orientation <= 8; orientation++) {
    it(`orientation ${orientation}: the upright pixels transposed equal Pillow's`, async () => {
      // The eight JPEGs hold the same scan; Pillow's references differ only by exif_transpose.
      const upright = await decodeImage(`${FIXTURES}resize/decode/jpeg-orientation-1.pillow.png`);
      const expected = await decodeImage(
        `${FIXTURES}resize/decode/jpeg-orientation-${orientation}.pillow.png`,
      );
      const ours = applyOrientation(upright, orientation);
      expect([ours.width, ours.height]).toEqual([expected.width, expected.height]);
      expect(Buffer.compare(Buffer.from(ours.data), Buffer.from(expected.data))).toBe(0);
    });
  }
});
