import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preprocess } from './preprocess.js';
import { resize } from './resample.js';
import type { RgbImage } from './rgb-image.js';
import { syntheticImage } from './synthetic.js';
import { type ResizeCase, resizeCases } from './test-support/fixtures.js';
import { setWasmResample, wasmResampleAvailable } from './wasm/kernels.js';

const sha256 = (bytes: Uint8Array | Float32Array) =>
  createHash('sha256')
    .update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    .digest('hex');

const cases = resizeCases();
const key = (c: ResizeCase) => `${c.source.width}x${c.source.height} ${c.source.pattern}#${c.source.seed}`;

// Cases are grouped by source so each synthetic image (up to 4000×3000) is built once.
const bySource = new Map<string, ResizeCase[]>();
for (const c of cases) bySource.set(key(c), [...(bySource.get(key(c)) ?? []), c]);

const paths = [
  { name: 'WebAssembly SIMD passes', wasm: true },
  { name: 'JavaScript passes', wasm: false },
];

describe.each(paths)(
  'resize matches Pillow 12.3 byte for byte (fixtures/resize/cases.json), $name',
  ({ wasm }) => {
    beforeAll(() => {
      setWasmResample(wasm);
      if (wasm) expect(wasmResampleAvailable()).toBe(true);
    });
    afterAll(() => setWasmResample(true));

    it('has the recorded number of cases', () => {
      expect(cases.length).toBeGreaterThanOrEqual(200);
      expect(new Set(cases.map((c) => c.resample))).toEqual(
        new Set(['nearest', 'box', 'bilinear', 'hamming', 'bicubic', 'lanczos']),
      );
    });

    for (const [name, group] of bySource) {
      it(`${name}: ${group.length} targets`, () => {
        const first = group[0]!;
        const source: RgbImage = syntheticImage(first.source);
        // The synthetic generator itself must match its Python mirror, or nothing below means anything.
        expect(sha256(source.data)).toBe(first.source.sha256);
        const failures: string[] = [];
        for (const c of group) {
          const out = resize(source, c.width, c.height, c.resample);
          const label = `${c.resample} → ${c.width}x${c.height}`;
          if (c.bytes !== undefined && Buffer.from(out.data).toString('hex') !== c.bytes)
            failures.push(`${label}: bytes`);
          for (const [index, value] of Object.entries(c.samples)) {
            if (out.data[Number(index)] !== value) failures.push(`${label}: byte ${index}`);
          }
          if (sha256(out.data) !== c.sha256) failures.push(`${label}: sha256`);
          if (c.pixel_values) {
            const pv = preprocess(source, { size: [c.height, c.width], resample: c.resample });
            expect(pv.dims).toEqual(c.pixel_values.shape);
            if (sha256(pv.data) !== c.pixel_values.sha256) failures.push(`${label}: pixel_values sha256`);
          }
        }
        expect(failures).toEqual([]);
      });
    }
  },
);
