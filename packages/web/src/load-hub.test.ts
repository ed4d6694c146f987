// The Hub path of the in-thread loader, in Node: onnxruntime-web (wasm) and pixels given decoded,
// so no browser API is needed; the browser test covers the Cache API and image decoding.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import { isPaliError } from '@pali/errors';
import { fixtureModelDir, goldenCases, goldenTensor, readGoldenManifest } from '@pali/fixtures';
import { type FakeFileInput, FakeHub } from '@pali/hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPaliGemma } from './load.js';
import type { LoadProgress } from './types.js';

const REPO = 'onnx-community/tiny-paligemma';
const work = mkdtempSync(join(tmpdir(), 'pali-web-hub-'));
let hub: FakeHub;

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

beforeAll(async () => {
  await convertCheckpoint(fixtureModelDir('tiny-3b'), join(work, 'model'), { overwrite: true });
  hub = new FakeHub();
  await hub.start();
  const files: Record<string, FakeFileInput> = {};
  for (const path of listFiles(join(work, 'model'))) {
    const name = relative(join(work, 'model'), path);
    files[name] = { content: new Uint8Array(readFileSync(path)), lfs: name.startsWith('onnx/') };
  }
  hub.addRepo(REPO, files);
});
afterAll(async () => {
  await hub?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('loadPaliGemma from a Hub repo (fake Hub, onnxruntime-web wasm in Node)', () => {
  it('downloads with progress and gives the HF greedy tokens', async () => {
    const events: LoadProgress[] = [];
    const pg = await loadPaliGemma(
      { hub: REPO, endpoint: hub.url },
      { dtype: 'fp32', backend: 'auto', threads: 1, onProgress: (e) => events.push(e) },
    );
    try {
      expect(pg.info).toMatchObject({ backend: 'wasm', source: `hub:${REPO}` });
      const downloads = events.filter((e) => e.stage === 'download');
      expect(downloads.at(-1)?.overall.filesDone).toBe(downloads.at(-1)?.overall.files);
      expect(events.some((e) => e.stage === 'backend' && e.reason === 'no WebGPU in this browser')).toBe(
        true,
      );
      const c = goldenCases('tiny-3b').find((k) => k.case === 'caption')!;
      const image = readGoldenManifest().images.find((i) => i.name === c.images[0])!;
      const rgb = goldenTensor(image.rgb_tensor).data as Uint8Array;
      const [result] = await pg.run({
        image: { width: image.width, height: image.height, data: rgb },
        prompt: c.prompts[0]!,
        maxNewTokens: 24,
      });
      const golden = Array.from(goldenTensor(c.tensors.tokens!).data as Int32Array);
      const eos = golden.indexOf(1);
      expect(result!.tokens).toEqual(eos >= 0 ? golden.slice(0, eos + 1) : golden);
    } finally {
      await pg.dispose();
    }
  }, 60_000);

  it('a repo without the dtype’s ONNX files says so (the browser cannot convert checkpoints)', async () => {
    await expect(loadPaliGemma({ hub: REPO, endpoint: hub.url }, { threads: 1 })).rejects.toSatisfy(
      (e) =>
        isPaliError(e, 'UNSUPPORTED') && /has no onnx\/vision_encoder_q4\.onnx/.test((e as Error).message),
    );
  });
});
