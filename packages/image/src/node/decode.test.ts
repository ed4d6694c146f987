import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isPaliError } from '@pali/errors';
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../rgb-image.js';
import { decodeCases, FIXTURES } from '../test-support/fixtures.js';
import { decodeBytes, decodeImage } from './decode.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function maxAbsDiff(a: RgbImage, b: RgbImage): number {
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i]! - b.data[i]!));
  return max;
}

/** Lossy formats: another decoder build may round differently. Measured here: 0 for JPEG and WebP, 5 for AVIF. */
const LOSSY_TOLERANCE: Record<string, number> = { jpeg: 2, webp: 2, avif: 8 };

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isPaliError(error, code as never), String(error)).toBe(true);
}

describe('Node decoding equals Pillow exif_transpose + convert("RGB") (fixtures/resize/decode.json)', () => {
  for (const c of decodeCases()) {
    it(`${c.file} (Pillow mode ${c.pillow_mode})${c.exact ? '' : ', lossy'}`, async () => {
      const ours = await decodeImage(`${FIXTURES}resize/${c.file}`);
      expect([ours.width, ours.height]).toEqual([c.width, c.height]);
      if (c.exact) {
        expect(sha256(ours.data)).toBe(c.rgb_sha256);
        return;
      }
      const reference = await decodeImage(`${FIXTURES}resize/${c.pillow_rgb}`);
      expect(sha256(reference.data)).toBe(c.rgb_sha256);
      const kind = c.file.split('/')[1]!.split('-')[0]!;
      expect(maxAbsDiff(ours, reference)).toBeLessThanOrEqual(LOSSY_TOLERANCE[kind] ?? 0);
    });
  }
});

describe('decoder inputs and guards', () => {
  const png = `${FIXTURES}resize/decode/png-rgba.png`;

  it('takes a path, a file URL, bytes, an ArrayBuffer and a Blob alike', async () => {
    const bytes = readFileSync(png);
    const fromPath = await decodeImage(png);
    for (const input of [
      pathToFileURL(png),
      new Uint8Array(bytes),
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      new Blob([bytes]),
    ]) {
      expect(sha256((await decodeImage(input)).data)).toBe(sha256(fromPath.data));
    }
  });

  it('drops the alpha of RGBA ImageData and passes RGB pixels through', async () => {
    const rgba = { width: 2, height: 1, data: new Uint8ClampedArray([1, 2, 3, 0, 4, 5, 6, 255]) };
    expect(Array.from((await decodeImage(rgba)).data)).toEqual([1, 2, 3, 4, 5, 6]);
    const rgb = { width: 1, height: 1, data: new Uint8Array([7, 8, 9]) };
    expect(await decodeImage(rgb)).toBe(rgb);
  });

  it('rejects empty, truncated and non-image files with typed errors', async () => {
    await expectCode(decodeImage(`${FIXTURES}resize/decode/bad-empty.png`), 'CORRUPT_FILE');
    await expectCode(decodeImage(`${FIXTURES}resize/decode/bad-truncated.png`), 'CORRUPT_FILE');
    await expectCode(decodeImage(`${FIXTURES}resize/decode/bad-not-an-image.txt`), 'UNSUPPORTED');
    await expectCode(decodeImage(`${FIXTURES}resize/decode/missing.png`), 'NOT_FOUND');
    await expectCode(decodeBytes(readFileSync(png).subarray(0, 40)), 'CORRUPT_FILE');
  });

  it('refuses images over the pixel limit before decoding them', async () => {
    await expectCode(decodeImage(png, { maxPixels: 61 * 47 - 1 }), 'TOO_LARGE');
    await expectCode(
      decodeImage({ width: 10, height: 10, data: new Uint8Array(300) }, { maxPixels: 99 }),
      'TOO_LARGE',
    );
    expect((await decodeImage(png, { maxPixels: 61 * 47 })).width).toBe(61);
  });
});
