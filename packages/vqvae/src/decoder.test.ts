import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPaliError } from '@pali/errors';
import { type NpyArray, serializeModel } from '@pali/onnx';
import { readNpzFile } from '@pali/onnx/node';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cases, goldenBinary, goldenLogits, relativeError, VAE_PATH } from '../test/golden.js';
import { buildMaskDecoderGraph } from './decoder-graph.js';
import { prepareMaskDecoder, readVqvaeWeights } from './node.js';
import { placeMask } from './place-mask.js';
import { MaskDecoder } from './runner.js';
import { vqvaeWeights } from './weights.js';

const work = mkdtempSync(join(tmpdir(), 'pali-vqvae-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('mask decoder against the PyTorch transcription of big_vision', () => {
  let decoder: MaskDecoder;
  let session: ort.InferenceSession;
  let logits: Float32Array[];
  beforeAll(async () => {
    const bytes = await serializeModel(buildMaskDecoderGraph(await readVqvaeWeights(VAE_PATH)));
    session = await ort.InferenceSession.create(bytes);
    decoder = new MaskDecoder(session, ort.Tensor);
    logits = await decoder.decode(cases.codes); // all code sets in one batch
  });
  afterAll(() => session?.release());

  it('gives the golden 64×64 logits for every code set (batched)', () => {
    expect(logits.length).toBe(cases.codes.length);
    for (let i = 0; i < logits.length; i++) {
      const err = relativeError(logits[i]!, goldenLogits(i));
      console.log(`[vqvae parity] codes ${i}: max abs err / max abs = ${err.toExponential(2)}`);
      expect(err, `codes ${i}`).toBeLessThan(1e-5);
    }
  });

  it('gives the same logits one mask at a time', async () => {
    const [one] = await decoder.decode([cases.codes[3]!]);
    expect(relativeError(one!, goldenLogits(3))).toBeLessThan(1e-5);
  });

  it('places its logits into the golden binary masks, pixel for pixel', () => {
    for (const p of cases.placements) {
      const placed = placeMask(logits[p.codes_index]!, p.locs, p.width, p.height);
      expect(placed.binary, p.note).toEqual(goldenBinary(p));
    }
  });

  it('rejects codes outside 0..127 and code sets that are not 16 long', async () => {
    const bad = [...cases.codes[0]!];
    bad[5] = 128;
    await expect(decoder.decode([bad])).rejects.toThrow(/code 128 at 5/);
    await expect(decoder.decode([[1, 2, 3]])).rejects.toThrow(/3 codes, expected 16/);
    expect(await decoder.decode([])).toEqual([]);
  });
});

describe('prepareMaskDecoder', () => {
  it('builds the ONNX once into the cache folder and reuses it', async () => {
    const cache = join(work, 'cache');
    const first = await prepareMaskDecoder(VAE_PATH, cache);
    const second = await prepareMaskDecoder(VAE_PATH, cache);
    expect(first.built).toBe(true);
    expect(second).toEqual({ modelPath: first.modelPath, built: false });
    const session = await ort.InferenceSession.create(first.modelPath);
    const [m] = await new MaskDecoder(session, ort.Tensor).decode([cases.codes[1]!]);
    expect(relativeError(m!, goldenLogits(1))).toBeLessThan(1e-5);
    await session.release();
  });

  it('says which file is expected when the path does not exist', async () => {
    await expect(prepareMaskDecoder(join(work, 'nope.npz'), work)).rejects.toSatisfy(
      (e) => isPaliError(e, 'NOT_FOUND') && /vae-oid\.npz/.test((e as Error).message),
    );
  });
});

describe('vqvaeWeights validation', () => {
  let arrays: Map<string, NpyArray>;
  beforeAll(async () => {
    arrays = await readNpzFile(VAE_PATH);
  });
  const edited = (f: (m: Map<string, NpyArray>) => void) => {
    const m = new Map(arrays);
    f(m);
    return m;
  };
  const corrupt = (m: Map<string, NpyArray>, pattern: RegExp) => {
    try {
      vqvaeWeights(m, 'x.npz');
    } catch (e) {
      expect(isPaliError(e, 'CORRUPT_FILE')).toBe(true);
      expect((e as Error).message).toMatch(pattern);
      expect((e as Error).message).toMatch(/big_vision's vae-oid\.npz/);
      return;
    }
    throw new Error('no error');
  };

  it('reads the channel counts from the file and ignores other arrays', () => {
    const w = vqvaeWeights(
      edited((m) => m.set('encoder.0.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) })),
    );
    expect([w.embedDim, w.hidden, w.upsamples.map((u) => u.weightDims[1])]).toEqual([
      512,
      32,
      [32, 16, 8, 4],
    ]);
  });

  it('names a missing array', () => {
    corrupt(
      edited((m) => m.delete('decoder.6.weight')),
      /"decoder\.6\.weight" is missing/,
    );
    corrupt(
      edited((m) => m.delete('_vq_vae._embedding')),
      /"_vq_vae\._embedding" is missing/,
    );
  });

  it('names a wrongly shaped array', () => {
    const a = arrays.get('decoder.2.net.2.weight')!;
    corrupt(
      edited((m) => m.set('decoder.2.net.2.weight', { ...a, shape: [32, 32, 9, 1] })),
      /"decoder\.2\.net\.2\.weight" has shape \[32, 32, 9, 1\], expected \[32, 32, 3, 3\]/,
    );
    const b = arrays.get('decoder.10.bias')!;
    corrupt(
      edited((m) => m.set('decoder.10.bias', { ...b, shape: [2, 2] })),
      /"decoder\.10\.bias" has shape \[2, 2\], expected \[4\]/,
    );
    const e = arrays.get('_vq_vae._embedding')!;
    corrupt(
      edited((m) => m.set('_vq_vae._embedding', { ...e, shape: [256, 256] })),
      /expected \[128, \?\]/,
    );
  });

  it('rejects integer arrays', () => {
    corrupt(
      edited((m) => m.set('decoder.12.bias', { dtype: 'int32', shape: [1], data: new Int32Array(1) })),
      /"decoder\.12\.bias" is int32/,
    );
  });
});

describe("vae-oid.npz's real shapes", () => {
  it('accepts codebook [128, 512] with 128 → 128 → 64 → 32 → 16 channels and decodes to [batch, 64, 64]', async () => {
    let seed = 1;
    const next = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed / 2147483647 - 0.5) * 0.1;
    };
    const random = (n: number) => Float32Array.from({ length: n }, next);
    const arrays = new Map<string, NpyArray>();
    const put = (name: string, shape: number[]) =>
      arrays.set(name, { dtype: 'float32', shape, data: random(shape.reduce((a, b) => a * b, 1)) });
    const layer = (name: string, shape: number[], out: number) => {
      put(`${name}.weight`, shape);
      put(`${name}.bias`, [out]);
    };
    put('_vq_vae._embedding', [128, 512]);
    layer('decoder.0', [128, 512, 1, 1], 128);
    for (const b of ['decoder.2.net', 'decoder.3.net']) {
      layer(`${b}.0`, [128, 128, 3, 3], 128);
      layer(`${b}.2`, [128, 128, 3, 3], 128);
      layer(`${b}.4`, [128, 128, 1, 1], 128);
    }
    const chans = [128, 128, 64, 32, 16];
    ['decoder.4', 'decoder.6', 'decoder.8', 'decoder.10'].forEach((n, i) => {
      layer(n, [chans[i]!, chans[i + 1]!, 4, 4], chans[i + 1]!);
    });
    layer('decoder.12', [1, 16, 1, 1], 1);
    const session = await ort.InferenceSession.create(
      await serializeModel(buildMaskDecoderGraph(vqvaeWeights(arrays))),
    );
    const decoder = new MaskDecoder(session, ort.Tensor);
    const t0 = performance.now();
    const masks = await decoder.decode(cases.codes.slice(0, 3));
    console.log(
      `[vqvae] real-shaped decoder, 3 masks: ${(performance.now() - t0).toFixed(1)} ms (first run)`,
    );
    expect(masks.map((m) => m.length)).toEqual([4096, 4096, 4096]);
    expect(masks.every((m) => m.every(Number.isFinite))).toBe(true);
    await session.release();
  });
});
