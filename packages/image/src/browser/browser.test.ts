import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage as decodeInNode } from '../node/decode.js';
import { preprocess } from '../preprocess.js';
import { syntheticImage } from '../synthetic.js';
import {
  type BrowserSession,
  bundleForBrowser,
  hasChromium,
  openBrowser,
} from '../test-support/browser-harness.js';
import { decodeCases, FIXTURES, type ResizeCase, resizeCases } from '../test-support/fixtures.js';

/**
 * Pixels are decoded in the browser by its own codecs; where Chromium's differ from Pillow (measured
 * with Chromium 156): 16-bit grey is scaled to 8 bits instead of clipped, and TIFF is not decoded.
 */
const BROWSER_DIFFERS = new Set(['decode/png-l16.png']);

const title = hasChromium
  ? 'the same core in headless Chromium'
  : 'the same core in headless Chromium (SKIPPED: /usr/bin/chromium is missing; apt-get install chromium)';

interface PageApi {
  pali: {
    syntheticImage: typeof syntheticImage;
    resize: (image: unknown, w: number, h: number, r: string) => { data: Uint8Array };
    preprocess: typeof preprocess;
    decodeImage: (input: unknown) => Promise<{ width: number; height: number; data: Uint8Array }>;
  };
}

describe.skipIf(!hasChromium)(title, () => {
  let session: BrowserSession;
  let bundle: string;

  beforeAll(async () => {
    bundle = await bundleForBrowser();
    session = await openBrowser(bundle);
  });
  afterAll(async () => {
    await session?.close();
  });

  it('bundles without Node modules or sharp', () => {
    expect(bundle).not.toMatch(/from\s*["']node:|require\(["']node:|sharp/);
  });

  it('gives Pillow’s bytes for every resize case under 5 MP and the same pixel_values hashes as Node', async () => {
    const cases = resizeCases().filter((c) => c.source.width * c.source.height <= 5_000_000);
    const results = await session.page.evaluate(async (list: ResizeCase[]) => {
      const { pali } = globalThis as unknown as PageApi;
      const hex = async (bytes: Uint8Array | Float32Array) =>
        Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)))
          .map((b) => b.toString(16).padStart(2, '0'))
          .join('');
      const out: { sha256: string; pv?: string }[] = [];
      let cached: { key: string; image: ReturnType<typeof pali.syntheticImage> } | undefined;
      for (const c of list) {
        const key = JSON.stringify(c.source);
        if (cached?.key !== key) cached = { key, image: pali.syntheticImage(c.source) };
        const resized = pali.resize(cached.image, c.width, c.height, c.resample);
        const record: { sha256: string; pv?: string } = { sha256: await hex(resized.data) };
        if (c.pixel_values) {
          record.pv = await hex(pali.preprocess(cached.image, { size: c.height, resample: c.resample }).data);
        }
        out.push(record);
      }
      return out;
    }, cases);
    expect(cases.length).toBeGreaterThan(300);
    const mismatches = cases.filter((c, i) => {
      const r = results[i]!;
      return r.sha256 !== c.sha256 || (c.pixel_values !== undefined && r.pv !== c.pixel_values.sha256);
    });
    expect(mismatches.map((c) => `${c.source.width}x${c.source.height} ${c.resample} ${c.width}`)).toEqual(
      [],
    );
  });

  it('pixel_values of a 4000×3000 image at 224 are the same bytes in the browser and in Node', async () => {
    const spec = { width: 4000, height: 3000, pattern: 'mixed' as const, seed: 31 };
    const inBrowser = await session.page.evaluate(async (s) => {
      const { pali } = globalThis as unknown as PageApi;
      const pv = pali.preprocess(pali.syntheticImage(s), { size: 224 });
      const digest = await crypto.subtle.digest('SHA-256', pv.data as Float32Array<ArrayBuffer>);
      return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    }, spec);
    const inNode = preprocess(syntheticImage(spec), { size: 224 });
    expect(inBrowser).toBe(createHash('sha256').update(new Uint8Array(inNode.data.buffer)).digest('hex'));
  });

  it('decodes JPEG (incl. EXIF orientation), PNG, WebP, GIF and AVIF to Pillow’s RGB', async () => {
    const cases = decodeCases().filter((c) => !c.file.endsWith('.tif') && !BROWSER_DIFFERS.has(c.file));
    const failures: string[] = [];
    for (const c of cases) {
      const got = await session.page.evaluate(async (file) => {
        const { pali } = globalThis as unknown as PageApi;
        const im = await pali.decodeImage(`/fixtures/resize/${file}`);
        return { width: im.width, height: im.height, data: Array.from(im.data) };
      }, c.file);
      const reference = await decodeInNode(`${FIXTURES}resize/${c.pillow_rgb}`);
      let max = got.width === c.width && got.height === c.height ? 0 : 255;
      for (let i = 0; i < reference.data.length && max < 255; i++) {
        max = Math.max(max, Math.abs(reference.data[i]! - got.data[i]!));
      }
      // Chromium's libjpeg-turbo, libwebp and dav1d give Pillow's bytes here; allow lossy rounding.
      if (max > (c.exact ? 0 : 2)) failures.push(`${c.file}: max abs diff ${max}`);
    }
    expect(failures).toEqual([]);
  });

  it('reports TIFF as unsupported and broken files as corrupt, with typed errors', async () => {
    const codes = await session.page.evaluate(async () => {
      const { pali } = globalThis as unknown as PageApi;
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'ok',
          (e: { code?: string }) => e.code ?? String(e),
        );
      return Promise.all(
        [
          'decode/tiff-rgb.tif',
          'decode/bad-empty.png',
          'decode/bad-truncated.png',
          'decode/bad-not-an-image.txt',
        ].map((f) => code(pali.decodeImage(`/fixtures/resize/${f}`))),
      );
    });
    expect(codes).toEqual(['UNSUPPORTED', 'CORRUPT_FILE', 'CORRUPT_FILE', 'UNSUPPORTED']);
    const tooLarge = await session.page.evaluate(async () => {
      const { pali } = globalThis as unknown as PageApi;
      const decode = pali.decodeImage as (input: unknown, options: object) => Promise<unknown>;
      return decode('/fixtures/resize/decode/png-rgb.png', { maxPixels: 100 }).then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      );
    });
    expect(tooLarge).toBe('TOO_LARGE');
  });
});
