import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '@pali/onnx';
import { writeModel } from '@pali/onnx/node';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { matMulNT, maxAbs, maxAbsDiff, rand } from '../test/helpers/ort.js';
import { dequantizeBlockwise, quantizeBlockwise } from './blockwise.js';
import { tiedEmbedding } from './embedding.js';
import { linear } from './linear.js';
import { dequantizeNf4, quantizeNf4 } from './nf4.js';

const dir = mkdtempSync(join(tmpdir(), 'pali-quantize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('written with external data by writeModel, loaded by path', () => {
  it('embedding → q4 linear → NF4 linear → tied head equals the dequantized computation; each source read once', async () => {
    const V = 64;
    const H = 96;
    const F = 160;
    const E = rand(V * H, 51, 0.5);
    const W1 = rand(F * H, 52, 0.2);
    const W2 = rand(H * F, 53, 0.2);
    const reads = new Map<string, number>();
    const source = (name: string, w: Float32Array) => () => {
      reads.set(name, (reads.get(name) ?? 0) + 1);
      return w;
    };
    const g = new GraphBuilder({ name: 'tiny' });
    const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
    const q4 = { kind: 'blockwise', bits: 4, blockSize: 32, symmetric: false, accuracyLevel: 0 } as const;
    const emb = tiedEmbedding(g, 'embed_tokens.weight', source('E', E), { V, H }, q4);
    const x = emb.gather(ids);
    const h1 = linear(x, 'up.weight', source('W1', W1), { N: F, K: H }, q4);
    const h2 = linear(h1, 'down.weight', source('W2', W2), { N: H, K: F }, { kind: 'nf4', blockSize: 64 });
    g.output(emb.head(h2), 'logits');
    const path = join(dir, 'model_q4.onnx');
    const res = await writeModel(g, path, { externalDataThreshold: 256 });
    expect(res.externalTensors).toBeGreaterThanOrEqual(4);
    expect(Object.fromEntries(reads)).toEqual({ E: 1, W1: 1, W2: 1 });

    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
    const idv = [5, 63, 0, 17];
    const out = await session.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(idv.map(BigInt)), [2, 2]),
    });
    await session.release();

    const deq = (w: Float32Array, N: number, K: number) =>
      dequantizeBlockwise(quantizeBlockwise(w, [N, K], { bits: 4, blockSize: 32, symmetric: false }));
    const Eq = deq(E, V, H);
    const rows = Float32Array.from(idv.flatMap((r) => Array.from(Eq.subarray(r * H, r * H + H))));
    const a = matMulNT(rows, deq(W1, F, H), 4, H, F);
    const b = matMulNT(a, dequantizeNf4(quantizeNf4(W2, [H, F], { blockSize: 64 })), 4, F, H);
    const want = matMulNT(b, Eq, 4, H, V);
    expect(out.logits!.dims).toEqual([2, 2, V]);
    expect(maxAbsDiff(out.logits!.data as Float32Array, want) / maxAbs(want)).toBeLessThan(1e-5);
  });
});
