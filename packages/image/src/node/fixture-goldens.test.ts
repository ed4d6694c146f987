import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type PreprocessOptions, preprocess } from '../preprocess.js';
import { resize } from '../resample.js';
import { FIXTURES } from '../test-support/fixtures.js';
import { decodeImage } from './decode.js';

/**
 * The pixel_values goldens of fixtures/golden/manifest.json (HF PaliGemmaProcessor, PIL backend, on the
 * fixture images, per tiny model) reproduced from the image files: Node decoding + our preprocessing.
 */
interface Manifest {
  images: { name: string; file: string }[];
  models: Record<string, { dir: string }>;
  tensors: { name: string; file: string; model: string | null; sha256: string; shape: number[] }[];
}

const MANIFEST = `${FIXTURES}golden/manifest.json`;
const present = existsSync(MANIFEST);
const title = present
  ? 'pixel_values goldens of fixtures/golden/manifest.json'
  : 'pixel_values goldens of fixtures/golden/manifest.json (SKIPPED: the manifest is missing; run tooling/golden/make.py)';

function optionsFrom(config: Record<string, unknown>): PreprocessOptions {
  const size = config.size as { height: number; width: number };
  return {
    size: [size.height, size.width],
    resample: config.resample as number,
    doRescale: config.do_rescale !== false,
    rescaleFactor: config.rescale_factor as number,
    doNormalize: config.do_normalize !== false,
    imageMean: config.image_mean as number[],
    imageStd: config.image_std as number[],
  };
}

describe.skipIf(!present)(title, () => {
  const manifest = present ? (JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest) : undefined;
  const goldens = manifest?.tensors.filter((t) => /\/pixel_values\//.test(t.name)) ?? [];
  const resized = manifest?.tensors.filter((t) => /\/resized_rgb\//.test(t.name)) ?? [];

  it('has pixel_values goldens for every fixture image', () => {
    expect(goldens.length).toBeGreaterThanOrEqual(manifest!.images.length);
  });

  for (const golden of resized) {
    it(`${golden.name} (uint8, 0 differing bytes)`, async () => {
      const image = manifest!.images.find((i) => i.name === golden.name.split('/').at(-1))!;
      const [height, width] = golden.shape as [number, number, number];
      const ours = resize(await decodeImage(`${FIXTURES}${image.file}`), width, height, 'bicubic');
      expect(Buffer.compare(Buffer.from(ours.data), readFileSync(`${FIXTURES}${golden.file}`))).toBe(0);
    });
  }

  for (const golden of goldens) {
    it(golden.name, async () => {
      const imageName = golden.name.split('/').at(-1)!;
      const image = manifest!.images.find((i) => i.name === imageName)!;
      const model = manifest!.models[golden.model!]!;
      const config = JSON.parse(readFileSync(`${FIXTURES}${model.dir}/preprocessor_config.json`, 'utf8'));
      const ours = preprocess(await decodeImage(`${FIXTURES}${image.file}`), optionsFrom(config));
      expect(ours.dims).toEqual(golden.shape);
      const bytes = readFileSync(`${FIXTURES}${golden.file}`);
      const reference = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      let max = 0;
      for (let i = 0; i < reference.length; i++) max = Math.max(max, Math.abs(reference[i]! - ours.data[i]!));
      expect(max).toBeLessThanOrEqual(1e-7);
    });
  }
});
