import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import { isPaliError } from '@pali/errors';
import {
  fixtureImagePath,
  fixtureModelDir,
  goldenCases,
  goldenTensor,
  readFixtureJson,
} from '@pali/fixtures';
import { buildDecoderGraph } from '@pali/gemma2';
import { FakeHub } from '@pali/hub/testing';
import { checkpointWeights, parsePaliGemmaConfig } from '@pali/model-folder';
import { openSafetensors, writeModel } from '@pali/onnx/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaliGemma } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'pali-sources-'));
const converted = join(work, 'tiny-3b');
const hub = new FakeHub();
let endpoint = '';
afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});
beforeAll(async () => {
  // Its own embedding table: the export-style test below replaces the decoder and its data file.
  await convertCheckpoint(fixtureModelDir('tiny-3b'), converted, { shareEmbedding: false });
  endpoint = await hub.start();
});

const image = fixtureImagePath;

function filesOf(dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = new Uint8Array(readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** Greedy tokens of the single-prompt golden cases, through the public API. */
async function expectGoldenTokens(pg: PaliGemma): Promise<void> {
  for (const c of goldenCases('tiny-3b').filter((x) => x.batch_size === 1)) {
    const [r] = await pg.run({ image: image(c.images[0]!), prompt: c.prompts[0]!, maxNewTokens: 24 });
    const golden = Array.from(goldenTensor(c.tensors.tokens!).data).slice(0, r!.tokens.length);
    expect(r!.tokens, c.case).toEqual(golden);
  }
}

describe('model sources', () => {
  it('an onnx-community-style folder (no attention_mask input, logits for every position) gives the same tokens', async () => {
    const folder = join(work, 'export-style');
    cpSync(converted, folder, { recursive: true });
    // An export has no `pali` key in config.json (it marks folders we converted).
    const configPath = join(folder, 'config.json');
    const { pali: _ours, ...plain } = JSON.parse(readFileSync(configPath, 'utf8'));
    writeFileSync(configPath, JSON.stringify(plain));
    const config = parsePaliGemmaConfig(readFixtureJson('models/tiny-3b/config.json'));
    const reader = await openSafetensors(fixtureModelDir('tiny-3b'));
    await writeModel(
      buildDecoderGraph(config, checkpointWeights(reader), { exportStyle: true }),
      join(folder, 'onnx/decoder_model_merged.onnx'),
    );
    await reader.close();
    const pg = await PaliGemma.load(folder);
    try {
      await expectGoldenTokens(pg);
    } finally {
      await pg.dispose();
    }
  });

  it('a Hub repo in the onnx-community layout: downloaded into the HF cache, then served offline with no request', async () => {
    hub.addRepo('onnx-community/tiny-3b', filesOf(converted));
    const cacheDir = join(work, 'hf-cache');
    const progress: string[] = [];
    const pg = await PaliGemma.load('onnx-community/tiny-3b', {
      endpoint,
      cacheDir,
      dtype: 'fp32',
      onProgress: (e) => progress.push(e.stage),
    });
    expect(progress).toContain('download');
    await expectGoldenTokens(pg);
    await pg.dispose();
    hub.clearLog();
    const offline = await PaliGemma.load('onnx-community/tiny-3b', {
      endpoint,
      cacheDir,
      dtype: 'fp32',
      offline: true,
    });
    await offline.dispose();
    expect(hub.requests).toEqual([]);
  });

  it("a Hub repo with the int8 prompt graphs: fetched only with prefill 'int8', then used", async () => {
    const folder = join(work, 'with-prefill');
    await convertCheckpoint(fixtureModelDir('tiny-3b'), folder, { dtype: 'q4', prefill: 'int8' });
    hub.addRepo('someone/tiny-3b-prefill', filesOf(folder));
    const cacheDir = join(work, 'hf-cache-prefill');
    const plain = await PaliGemma.load('someone/tiny-3b-prefill', { endpoint, cacheDir, dtype: 'q4' });
    expect(plain.int8Prefill).toBe(false);
    await plain.dispose();
    expect(hub.requests.some((r) => r.url.includes('prefill_int8'))).toBe(false);
    const fast = await PaliGemma.load('someone/tiny-3b-prefill', {
      endpoint,
      cacheDir,
      dtype: 'q4',
      prefill: 'int8',
    });
    expect(fast.int8Prefill).toBe(true);
    expect(fast.int8Vision).toBe(true);
    expect(fast.stepGraph).toBe(true);
    // The prefill graph's parts, listed in config.json, came too: the prompt ran on them.
    expect(fast.promptSessions).toBe('transient');
    expect(hub.requests.some((r) => r.url.includes('decoder_prefill_int8_q4_part00.onnx'))).toBe(true);
    expect(hub.requests.some((r) => r.url.includes('decoder_step_q4.onnx'))).toBe(true);
    await fast.dispose();
  });

  it("a gated Hub checkpoint in Google's layout: a typed error without a token, converted once with one", async () => {
    const files = filesOf(fixtureModelDir('tiny-3b'));
    hub.addRepo('google/tiny-3b', files, { gated: true, acceptedTokens: ['hf_ok'] });
    const cacheDir = join(work, 'hf-cache-2');
    let error: unknown;
    try {
      await PaliGemma.load('google/tiny-3b', { endpoint, cacheDir, env: {} } as Parameters<
        typeof PaliGemma.load
      >[1]);
    } catch (e) {
      error = e;
    }
    expect(isPaliError(error)).toBe(true);
    expect(String((error as Error).message)).toMatch(/HF_TOKEN/);
    const stages: string[] = [];
    const pg = await PaliGemma.load('google/tiny-3b', {
      endpoint,
      cacheDir,
      token: 'hf_ok',
      convertedDir: join(work, 'converted'),
      onProgress: (e) => stages.push(e.stage),
    });
    expect(stages).toContain('download');
    expect(stages).toContain('convert');
    try {
      await expectGoldenTokens(pg);
    } finally {
      await pg.dispose();
    }
  });
});
