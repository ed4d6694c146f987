import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkEncoded, readImageSize, sniffFormat } from './format.js';
import { decodeCases, FIXTURES } from './test-support/fixtures.js';

describe('format sniffing and header sizes (fixtures/resize/decode, sizes from Pillow)', () => {
  for (const c of decodeCases()) {
    it(c.file, () => {
      const bytes = readFileSync(`${FIXTURES}resize/${c.file}`);
      const ext = c.file.split('.').at(-1)!;
      const expected = { jpg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', avif: 'avif', tif: 'tiff' }[ext];
      expect(sniffFormat(bytes)).toBe(expected);
      const size = readImageSize(bytes);
      if (ext === 'avif' || ext === 'tif') {
        expect(size).toBeUndefined();
      } else {
        // Pillow's size is after EXIF orientation: compare the unordered pair.
        expect([size!.width, size!.height].sort()).toEqual([c.width, c.height].sort());
      }
    });
  }

  it('throws typed errors for empty and unknown bytes', () => {
    expect(() => checkEncoded(new Uint8Array(0), 'x')).toThrowError(
      expect.objectContaining({ code: 'CORRUPT_FILE' }),
    );
    expect(() => checkEncoded(new TextEncoder().encode('hello world!'), 'x')).toThrowError(
      expect.objectContaining({ code: 'UNSUPPORTED' }),
    );
  });
});
