// The per-step embedding lookup read from the table's file must give embed_tokens' exact rows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import { EmbeddingTable } from '@pali/core';
import { fixtureImagePath, fixtureModelDir, goldenCases } from '@pali/fixtures';
import { type ModelDtype, onnxPath } from '@pali/model-folder';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { fsModelFiles } from './fs-model-files.js';
import { PaliGemma } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'pali-embed-table-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Every dtype: the table is read where we recognise the graph (float32, and symmetric int4/int8 with
// float32 scales), and must then equal onnxruntime's rows bit for bit; the others keep the session.
const READABLE: Record<ModelDtype, boolean> = {
  fp32: true,
  fp16: false,
  q8: true,
  int8: true,
  uint8: false,
  q4: true,
  q4f16: false,
  bnb4: true,
};

describe.each(Object.keys(READABLE) as ModelDtype[])('EmbeddingTable on a %s folder (tiny-3b)', (dtype) => {
  it(
    READABLE[dtype] ? 'equals embed_tokens bit for bit on every token id' : 'is not used: the session stays',
    async () => {
      const folder = join(work, dtype);
      const { config } = await convertCheckpoint(fixtureModelDir('tiny-3b'), folder, { dtype });
      const H = config.textConfig.hiddenSize;
      const V = config.textConfig.vocabSize;
      const file = onnxPath('embed_tokens', dtype);
      const table = await EmbeddingTable.open(fsModelFiles(folder), file, H);
      expect(table !== undefined).toBe(READABLE[dtype]);
      if (!table) return;
      try {
        expect(table.vocabSize).toBe(V);
        const session = await ort.InferenceSession.create(join(folder, file));
        const ids = Array.from({ length: V }, (_, i) => i);
        const { inputs_embeds: ref } = await session.run({
          input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, V]),
        });
        await session.release();
        const mine = await table.lookup(ids);
        expect(mine.length).toBe(V * H);
        const want = ref!.data as Float32Array;
        let differ = 0;
        for (let i = 0; i < want.length; i++) if (!Object.is(mine[i], want[i])) differ++;
        expect(differ).toBe(0);
        await expect(table.lookup([V])).rejects.toThrow(/outside the vocabulary/);
      } finally {
        await table.close();
      }
    },
  );
});

describe('EmbeddingTable with other block sizes (convert --block-size)', () => {
  it.each([
    [16, true],
    [128, false],
  ])(
    'q4 in blocks of %i: read from the file and bit-exact, or left to the session (padded rows)',
    async (blockSize, readable) => {
      const folder = join(work, `q4-b${blockSize}`);
      const { config } = await convertCheckpoint(fixtureModelDir('tiny-3b'), folder, {
        dtype: 'q4',
        blockSize,
      });
      const H = config.textConfig.hiddenSize;
      const file = onnxPath('embed_tokens', 'q4');
      const table = await EmbeddingTable.open(fsModelFiles(folder), file, H);
      // tiny-3b's rows are 64 wide: blocks of 128 pad them, and the graph slices what we do not read.
      expect(table !== undefined).toBe(readable);
      if (!table) return;
      const session = await ort.InferenceSession.create(join(folder, file));
      const ids = [0, 1, 2, 500, 2176];
      const { inputs_embeds: ref } = await session.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      });
      await session.release();
      expect(Array.from(await table.lookup(ids))).toEqual(Array.from(ref!.data as Float32Array));
      await table.close();
    },
  );
});

describe('PaliGemma with the table lookup', () => {
  it('generates the same tokens as with the embed_tokens session, and says which it uses', async () => {
    const folder = join(work, 'q4');
    const c = goldenCases('tiny-3b').find((x) => x.case === 'caption')!;
    const tokens: number[][] = [];
    for (const embeddingLookup of ['auto', 'session'] as const) {
      const pg = await PaliGemma.load(folder, { dtype: 'q4', embeddingLookup, threads: 1 });
      expect(pg.embeddingLookup).toBe(embeddingLookup === 'auto' ? 'table' : 'session');
      const [r] = await pg.run({
        image: fixtureImagePath(c.images[0]!),
        prompt: c.prompts[0]!,
        maxNewTokens: 16,
      });
      tokens.push(r!.tokens);
      await pg.dispose();
    }
    expect(tokens[0]).toEqual(tokens[1]);
  });
});
