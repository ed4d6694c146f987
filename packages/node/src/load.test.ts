import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPaliError } from '@pali/errors';
import { FIXTURE_MODELS, fixtureImagePath, fixtureModelDir, goldenCases, goldenTensor } from '@pali/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { type NodeImage, PaliGemma } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'pali-node-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const imagePath = fixtureImagePath;

/** HF generated with eos_token_id=[]: our generation stops at the model's eos, so compare up to it. */
function expectedUntilEos(tokens: Int32Array, eos: readonly number[]): number[] {
  const out: number[] = [];
  for (const t of tokens) {
    out.push(t);
    if (eos.includes(t)) break;
  }
  return out;
}

describe.each(FIXTURE_MODELS)(
  'PaliGemma.load on the %s checkpoint (converted once, then loaded)',
  (model) => {
    it('gives HF greedy tokens for every golden case through the public API', async () => {
      const progress: string[] = [];
      const pg = await PaliGemma.load(fixtureModelDir(model), {
        convertedDir: join(work, 'converted'),
        threads: 1,
        onProgress: (e) => progress.push(e.stage),
      });
      expect(progress).toContain('convert');
      expect(progress).toContain('session');
      try {
        for (const c of goldenCases(model)) {
          const tokens = goldenTensor(c.tensors.tokens!).data as Int32Array;
          const images: NodeImage[] = c.images.map(imagePath);
          const results = await pg.run({ image: images, prompt: c.prompts, maxNewTokens: 24 });
          results.forEach((r, row) => {
            const expected = expectedUntilEos(
              tokens.subarray(row * 24, (row + 1) * 24),
              pg.generationConfig.eosTokenIds,
            );
            expect(r.tokens, `${model}/${c.case} row ${row}`).toEqual(expected);
            expect(r.finishReason).toBe(expected.length < 24 ? 'eos' : 'length');
            const ids = goldenTensor(c.tensors.input_ids!).data as Int32Array;
            const mask = goldenTensor(c.tensors.attention_mask!).data as Int32Array;
            const L = ids.length / c.batch_size;
            const golden = Array.from(ids.subarray(row * L, (row + 1) * L)).filter(
              (_, i) => mask[row * L + i] === 1,
            );
            expect(r.promptTokens).toEqual(golden);
          });
        }
      } finally {
        await pg.dispose();
      }
      // The second load finds the converted folder and does not convert again.
      const again: string[] = [];
      const pg2 = await PaliGemma.load(fixtureModelDir(model), {
        convertedDir: join(work, 'converted'),
        onProgress: (e) => again.push(e.stage),
      });
      expect(again).not.toContain('convert');
      await pg2.dispose();
    });
  },
);

describe('PaliGemma tasks and streaming on tiny-3b', () => {
  it('streams text deltas that add up to the result, and the task API runs', async () => {
    const pg = await PaliGemma.load(fixtureModelDir('tiny-3b'), { convertedDir: join(work, 'converted') });
    try {
      const it = pg.generate({ image: imagePath('big-160x120'), prompt: 'caption en', maxNewTokens: 10 });
      let streamed = '';
      let n = 0;
      let next = await it.next();
      while (!next.done) {
        streamed += next.value.text;
        n++;
        next = await it.next();
      }
      expect(next.value[0]!.text).toBe(streamed);
      expect(n).toBe(next.value[0]!.tokens.length);
      const caption = await pg.caption(imagePath('big-160x120'), { maxNewTokens: 8 });
      expect(caption.tokens.length).toBeGreaterThan(0);
      const detected = await pg.detect(imagePath('photo-96x72'), ['cat', 'dog'], { maxNewTokens: 12 });
      expect(Array.isArray(detected.objects)).toBe(true);
      expect(typeof detected.text).toBe('string');
    } finally {
      await pg.dispose();
    }
  });

  it('cancelling mid-generation stops within a step with ABORTED', async () => {
    const pg = await PaliGemma.load(fixtureModelDir('tiny-3b'), { convertedDir: join(work, 'converted') });
    const controller = new AbortController();
    let seen = 0;
    try {
      await expect(async () => {
        for await (const chunk of pg.generate({
          image: imagePath('big-160x120'),
          prompt: 'caption en',
          maxNewTokens: 24,
          signal: controller.signal,
        })) {
          seen++;
          if (chunk.index === 2) controller.abort();
        }
      }).rejects.toSatisfy((e) => isPaliError(e, 'ABORTED'));
      expect(seen).toBe(3);
    } finally {
      await pg.dispose();
    }
  });

  it('a prompt longer than the context is a typed error', async () => {
    const pg = await PaliGemma.load(fixtureModelDir('tiny-3b'), { convertedDir: join(work, 'converted') });
    try {
      await expect(
        pg.run({ image: imagePath('big-160x120'), prompt: 'caption en', maxNewTokens: 100_000 }),
      ).rejects.toSatisfy((e) => isPaliError(e, 'PROMPT_TOO_LONG'));
    } finally {
      await pg.dispose();
    }
  });

  it('unknown sources and missing dtypes say what to do', async () => {
    await expect(PaliGemma.load(join(work, 'nowhere'))).rejects.toThrow(/No model at/);
    const folder = readdirSync(join(work, 'converted'))[0]!;
    await expect(PaliGemma.load(join(work, 'converted', folder), { dtype: 'q4' })).rejects.toThrow(
      /no onnx\/vision_encoder_q4\.onnx.*It has vision_encoder as fp32/,
    );
  });
});
