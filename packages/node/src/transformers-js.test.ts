import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import { FIXTURE_MODELS, fixtureImagePath, fixtureModelDir, goldenCases, goldenTensor } from '@pali/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { PaliGemma } from './index.js';

// Our converted folders keep the onnx-community contract, so transformers.js runs them as it runs
// the onnx-community exports. Both get the same pixel_values (the HF goldens; transformers.js's own
// processor resizes with sharp, without Pillow's antialiasing), so any difference is the model's.
const work = mkdtempSync(join(tmpdir(), 'pali-tjs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(FIXTURE_MODELS)('transformers.js 4.3.1 on our converted %s folder', (model) => {
  it('loads it and its greedy tokens equal ours and HF', async () => {
    const folder = join(work, model);
    await convertCheckpoint(fixtureModelDir(model), folder);
    const tjs = await import('@huggingface/transformers');
    tjs.env.allowRemoteModels = false;
    tjs.env.allowLocalModels = true;
    tjs.env.localModelPath = `${dirname(folder)}/`;
    const theirs = await tjs.PaliGemmaForConditionalGeneration.from_pretrained(basename(folder), {
      dtype: 'fp32',
      local_files_only: true,
    });
    const ours = await PaliGemma.load(folder);
    try {
      for (const c of goldenCases(model).filter((x) => x.batch_size === 1)) {
        const ids = goldenTensor(c.tensors.input_ids!).data as Int32Array;
        const pixels = goldenTensor(`${model}/pixel_values/${c.images[0]}`);
        const output = (await theirs.generate({
          input_ids: new tjs.Tensor(
            'int64',
            BigInt64Array.from(ids, (i) => BigInt(i)),
            [1, ids.length],
          ),
          attention_mask: new tjs.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
          pixel_values: new tjs.Tensor('float32', pixels.data as Float32Array, pixels.shape),
          max_new_tokens: 24,
          do_sample: false,
        })) as { tolist(): bigint[][] };
        const theirTokens = output.tolist()[0]!.slice(ids.length).map(Number);
        const image = fixtureImagePath(c.images[0]!);
        const [mine] = await ours.run({ image, prompt: c.prompts[0]!, maxNewTokens: 24 });
        expect(theirTokens, `${model}/${c.case}`).toEqual(mine!.tokens);
        const golden = Array.from(goldenTensor(c.tensors.tokens!).data).slice(0, theirTokens.length);
        expect(theirTokens).toEqual(golden);
      }
    } finally {
      await ours.dispose();
      await theirs.dispose();
    }
  });
});
