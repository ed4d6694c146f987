import { GraphBuilder, serializeModel } from '@pali/onnx';
import * as ort from 'onnxruntime-node';
import { linear } from '../dist/index.js';

const N = 9216,
  K = 2304;
const W = new Float32Array(N * K);
let s = 1;
for (let i = 0; i < W.length; i++) {
  s = (s * 1103515245 + 12345) >>> 0;
  W[i] = (s / 2 ** 32 - 0.5) * 0.04;
}
const fm = (bits, blockSize, symmetric = true, accuracyLevel = 4) => ({
  kind: 'blockwise',
  bits,
  blockSize,
  symmetric,
  accuracyLevel,
});
const formats = [
  ['fp32', { kind: 'float32' }],
  ['int8 DQMM', { kind: 'int8', symmetric: true }],
  ['q4 b32', fm(4, 32)],
  ['q4 b64', fm(4, 64)],
  ['q4 b128', fm(4, 128)],
  ['q4 b256', fm(4, 256)],
  ['q4 b32 zp', fm(4, 32, false)],
  ['q4 b128 zp', fm(4, 128, false)],
  ['q8 b32', fm(8, 32)],
  ['q8 b128', fm(8, 128)],
];
const only = process.argv[2];
for (const [label, f] of formats) {
  if (only && !label.includes(only)) continue;
  const g = new GraphBuilder();
  g.output(
    linear(g.input('x', 'float32', ['m', K]), 'w', () => W, { N, K }, f),
    'y',
  );
  const bytes = g.initializers.reduce((t, r) => t + r.byteLength, 0);
  const buf = await serializeModel(g);
  const r0 = process.memoryUsage().rss;
  const session = await ort.InferenceSession.create(buf, {
    intraOpNumThreads: 2,
    ...(process.env.NOPREPACK ? { extra: { session: { disable_prepacking: '1' } } } : {}),
  });
  const r1 = process.memoryUsage().rss;
  const t = async (M, reps) => {
    const feeds = { x: new ort.Tensor('float32', new Float32Array(M * K).fill(0.3), [M, K]) };
    await session.run(feeds);
    let best = 1e9;
    for (let i = 0; i < reps; i++) {
      const a = performance.now();
      await session.run(feeds);
      best = Math.min(best, performance.now() - a);
    }
    return best;
  };
  const m1 = await t(1, 30),
    m256 = await t(256, 5);
  console.log(
    `${label.padEnd(12)} MB ${(bytes / 1e6).toFixed(1).padStart(6)} loadRSS+ ${((r1 - r0) / 1e6).toFixed(0).padStart(5)} | M=1 ${m1.toFixed(2)} ms ${(bytes / m1 / 1e6).toFixed(1)} GB/s | M=256 ${m256.toFixed(1)} ms ${((2 * 256 * N * K) / m256 / 1e6).toFixed(0)} GFLOP/s`,
  );
  await session.release();
}
