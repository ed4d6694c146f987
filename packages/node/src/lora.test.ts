import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint, readLoraAdapter } from '@pali/convert';
import { isPaliError } from '@pali/errors';
import { fixtureModelDir, fixturePath, readFixtureJson } from '@pali/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { PaliGemma } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'pali-lora-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface LoraGoldens {
  image: string;
  prompt: string;
  tensors: Record<string, { file: string; shape: number[] }>;
}
const goldens = readFixtureJson<LoraGoldens>('lora/goldens.json');
const golden = (name: string) => {
  const bytes = readFileSync(fixturePath(goldens.tensors[name]!.file));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
const relMax = (ref: Float32Array, test: Float32Array) => {
  let d = 0;
  let m = 0;
  ref.forEach((r, i) => {
    d = Math.max(d, Math.abs(test[i]! - r));
    m = Math.max(m, Math.abs(r));
  });
  return d / m;
};

describe('convert --lora: a PEFT adapter merged before export', () => {
  it("gives HF + PEFT's merged model: image features and prefill logits", async () => {
    const out = join(work, 'merged');
    await convertCheckpoint(fixtureModelDir('tiny-3b'), out, { lora: fixturePath('lora/tiny-3b') });
    const pg = await PaliGemma.load(out);
    try {
      const image = fixturePath(`images/${goldens.image}.png`);
      const ids = new Int32Array(readFileSync(fixturePath(goldens.tensors.input_ids!.file)).buffer.slice(0));
      const [logits] = await pg.forcedLogits(image, goldens.prompt, []);
      // Ours is soft-capped (HF 5.x returns raw logits): compare with the cap applied to HF's.
      const ref = golden('logits').map((x) => 30 * Math.tanh(x / 30));
      const err = relMax(ref, logits!);
      console.log(`[lora] merged prefill logits: max abs err / max |logit| = ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-4);
      // Without the adapter the logits are far from the merged model's: the merge did something.
      const plain = await PaliGemma.load(fixtureModelDir('tiny-3b'), { convertedDir: join(work, 'plain') });
      const [base] = await plain.forcedLogits(image, goldens.prompt, []);
      await plain.dispose();
      expect(relMax(ref, base!)).toBeGreaterThan(100 * err);
      expect(ids.length).toBeGreaterThan(16);
    } finally {
      await pg.dispose();
    }
  });

  it('reads which weights of both towers it changes', async () => {
    const adapter = await readLoraAdapter(fixturePath('lora/tiny-3b'));
    expect(adapter.targets).toContain('vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight');
    expect(adapter.targets).toContain('language_model.model.layers.1.mlp.down_proj.weight');
  });

  it('refuses an adapter for another model, and a folder that is not an adapter', async () => {
    const e = await convertCheckpoint(fixtureModelDir('tiny-28b'), join(work, 'wrong'), {
      lora: fixturePath('lora/tiny-3b'),
    }).catch((x: unknown) => x);
    expect(isPaliError(e, 'SHAPE_MISMATCH') || isPaliError(e, 'NOT_FOUND')).toBe(true);
    const notAdapter = join(work, 'not-an-adapter');
    cpSync(fixturePath('lora/tiny-3b'), notAdapter, { recursive: true });
    writeFileSync(join(notAdapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'PREFIX_TUNING' }));
    const e2 = await convertCheckpoint(fixtureModelDir('tiny-3b'), join(work, 'x'), {
      lora: notAdapter,
    }).catch((x: unknown) => x);
    expect(isPaliError(e2, 'UNSUPPORTED')).toBe(true);
  });
});
