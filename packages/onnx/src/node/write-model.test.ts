import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPaliError } from '@pali/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f32, maxAbsDiff, rand, runNode } from '../../test/helpers/ort.js';
import * as ref from '../../test/helpers/ref.js';
import { bytesOf } from '../dtype.js';
import { GraphBuilder } from '../graph/graph-builder.js';
import { decodeModelProto } from '../model/onnx-proto.js';
import { add, mul } from '../ops/elementwise.js';
import { matMul } from '../ops/nn.js';
import { writeModel } from './write-model.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pali-onnx-write-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const K = 64;
const N = 4200; // 64 × 4200 × 4 B ≈ 1.07 MB: a "large" tensor, aligned to 64 KiB
const W1 = rand(K * K, 1);
const W2 = rand(K * N, 2, 0.1);
const bias = rand(N, 3);

/** x → (x·W1 + 0.5) ⊙ s · W2 + bias, with weights given as data, a typed-array thunk, chunks and an async iterator. */
function build(opts: { badLength?: boolean } = {}) {
  const g = new GraphBuilder({ name: 'ext' });
  const x = g.input('x', 'float32', ['batch', K]);
  const w1 = g.lazyInitializer('w1', 'float32', [K, K], () => W1);
  const s = g.initializer('s', 'float32', [K], rand(K, 4)); // 256 B: stays inline
  const w2 = g.lazyInitializer('w2', 'float32', [K, N], async function* () {
    const b = bytesOf(W2);
    const step = opts.badLength ? 1000 : 65536;
    for (let i = 0; i < b.byteLength - (opts.badLength ? 4 : 0); i += step)
      yield b.subarray(i, Math.min(i + step, b.byteLength - (opts.badLength ? 4 : 0)));
  });
  const bb = g.lazyInitializer('bias', 'float32', [N], () => [
    bytesOf(bias).subarray(0, 8000),
    bytesOf(bias).subarray(8000),
  ]);
  g.output(add(matMul(mul(add(matMul(x, w1), 0.5), s), w2), bb), 'y');
  return g;
}

function reference(xs: Float32Array, rowsN: number, s: Float32Array): Float32Array {
  const h = ref.matmul(ref.t(xs, [rowsN, K]), ref.t(W1, [K, K]));
  const h2 = ref.binary(
    ref.map(h, (v) => v + 0.5),
    ref.t(s, [K]),
    (a, b) => a * b,
  );
  return ref.binary(ref.matmul(h2, ref.t(W2, [K, N])), ref.t(bias, [N]), (a, b) => a + b).data;
}

describe('writeModel with external data', () => {
  it('streams large tensors to <model>.onnx_data at aligned offsets and ORT runs it from the path', async () => {
    const g = build();
    const path = join(dir, 'model.onnx');
    const progress: number[] = [];
    const res = await writeModel(g, path, { onProgress: (w) => progress.push(w) });
    expect(res.dataPath).toBe(join(dir, 'model.onnx_data'));
    expect(res.externalTensors).toBe(3);
    expect(res.inlineTensors).toBeGreaterThanOrEqual(1);
    expect(progress.at(-1)).toBe((K * K + K * N + N) * 4);
    expect((await readdir(dir)).sort()).toEqual(['model.onnx', 'model.onnx_data']);

    const m = decodeModelProto(await readFile(path));
    const ext = Object.fromEntries(
      m.graph.initializer
        .filter((t) => t.dataLocation === 1)
        .map((t) => [t.name, Object.fromEntries(t.externalData!.map((e) => [e.key, e.value]))]),
    );
    expect(Object.keys(ext).sort()).toEqual(['bias', 'w1', 'w2']);
    for (const e of Object.values(ext)) expect(e.location).toBe('model.onnx_data');
    expect(Number(ext.w1!.offset) % 64).toBe(0);
    expect(Number(ext.bias!.offset) % 64).toBe(0);
    expect(Number(ext.w2!.offset) % 65536).toBe(0);
    expect(m.graph.initializer.find((t) => t.name === 's')!.rawData!.byteLength).toBe(K * 4);
    // The bytes at each offset are the tensor's bytes.
    const fh = await open(res.dataPath!, 'r');
    for (const [name, want] of [
      ['w1', W1],
      ['w2', W2],
      ['bias', bias],
    ] as const) {
      const buf = new Uint8Array(Number(ext[name]!.length));
      await fh.read(buf, 0, buf.byteLength, Number(ext[name]!.offset));
      expect(Buffer.from(buf).equals(bytesOf(want)), name).toBe(true);
    }
    await fh.close();

    const xs = rand(2 * K, 9);
    const out = await runNode(path, { x: f32(xs, [2, K]) });
    const s = new Float32Array(
      Uint8Array.from(m.graph.initializer.find((t) => t.name === 's')!.rawData!).buffer,
    );
    expect(maxAbsDiff(out.y!.data as Float32Array, reference(xs, 2, s))).toBeLessThan(1e-3);
  });

  it('keeps everything inline below the threshold and writes no data file', async () => {
    const path = join(dir, 'inline.onnx');
    const res = await writeModel(build(), path, { externalDataThreshold: Number.POSITIVE_INFINITY });
    expect(res.dataPath).toBeUndefined();
    expect(res.externalTensors).toBe(0);
    expect((await readdir(dir)).includes('inline.onnx_data')).toBe(false);
    const out = await runNode(path, { x: f32(new Float32Array(K), [1, K]) });
    expect(out.y!.dims).toEqual([1, N]);
  });

  it('leaves nothing behind when a lazy source produces the wrong size, or on abort', async () => {
    const sub = await mkdtemp(join(dir, 'fail-'));
    const err = await writeModel(build({ badLength: true }), join(sub, 'model.onnx')).catch((e) => e);
    expect(isPaliError(err, 'SHAPE_MISMATCH')).toBe(true);
    expect((err as Error).message).toMatch(/Initializer "w2": its source produced only/);
    expect(await readdir(sub)).toEqual([]);

    const ctl = new AbortController();
    const aborted = await writeModel(build(), join(sub, 'model.onnx'), {
      signal: ctl.signal,
      onProgress: () => ctl.abort(),
    }).catch((e) => e);
    expect(isPaliError(aborted, 'ABORTED')).toBe(true);
    expect(await readdir(sub)).toEqual([]);
  });

  it('reports a missing folder and a bad data file name as typed errors', async () => {
    const e1 = await writeModel(build(), join(dir, 'no', 'such', 'model.onnx')).catch((e) => e);
    expect(isPaliError(e1, 'NOT_FOUND')).toBe(true);
    const e2 = await writeModel(build(), join(dir, 'x.onnx'), { dataFileName: '../x.onnx_data' }).catch(
      (e) => e,
    );
    expect(isPaliError(e2, 'INVALID_ARGUMENT')).toBe(true);
  });
});
