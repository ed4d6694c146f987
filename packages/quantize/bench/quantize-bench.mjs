// Quantizer speed and the weight / output error each format costs, on Gemma-2-2B-sized matrices, plus
// (with --embedding) the memory onnxruntime-node takes for a shared q4 tied embedding.
//   pnpm build && pnpm --filter @pali/quantize bench [-- --ort] [--embedding[-only] [--vocab 257216] [--use gather|head|both]]
// Runs the built dist (no TypeScript runner needed).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dequantizeBlockwise,
  dequantizeNf4,
  dequantizePerChannel,
  quantizeBlockwise,
  quantizeNf4,
  quantizePerChannel,
  relativeError,
  toFloat16,
  transpose2d,
} from '../dist/index.js';

/** Gaussian N(0, std²) from a seeded xorshift (Box-Muller). */
function gaussian(n, seed, std) {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t) * std;
    if (i + 1 < n) out[i + 1] = r * Math.sin(t) * std;
  }
  return out;
}

/** The best of three timed runs after a warm-up (the JIT, and other load on the machine). */
const fmt = (v, d = 3) => (v < 1e-3 ? v.toExponential(2) : v.toFixed(d));

function time(f) {
  let r = f();
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    r = f();
    best = Math.min(best, performance.now() - t0);
  }
  return [best, r];
}

const li = process.argv.indexOf('--load');
if (li > 0) await loadAndRun(process.argv[li + 1], process.argv[li + 2]);
else if (!process.argv.includes('--embedding-only')) speedTable();
if (li < 0 && process.argv.includes('--ort')) await ortTable();
if (li < 0 && process.argv.some((a) => a.startsWith('--embedding'))) await embeddingMemory();

async function embeddingMemory() {
  const { GraphBuilder } = await import('@pali/onnx');
  const { writeModel } = await import('@pali/onnx/node');
  const { embeddingFormat, tiedEmbedding } = await import('../dist/index.js');
  const vi = process.argv.indexOf('--vocab');
  const V = vi > 0 ? Number(process.argv[vi + 1]) : 65536;
  const H = 2304;
  const ui = process.argv.indexOf('--use');
  const use = ui > 0 ? process.argv[ui + 1] : 'both';
  const dir = mkdtempSync(join(tmpdir(), 'pali-quant-'));
  try {
    const g = new GraphBuilder({ name: 'tied' });
    const emb = tiedEmbedding(g, 'embed', () => gaussian(V * H, 3, 0.02), { V, H }, embeddingFormat('q4'));
    if (use !== 'head') g.output(emb.gather(g.input('ids', 'int64', [1, 4])), 'embeds');
    if (use !== 'gather') g.output(emb.head(g.input('h', 'float32', [1, H])), 'logits');
    const path = join(dir, 'tied.onnx');
    const t0 = performance.now();
    await writeModel(g, path);
    const writeMs = performance.now() - t0;
    // Load in a fresh process, so the writer's garbage does not blur the RSS figures.
    const out = execFileSync(process.execPath, [new URL(import.meta.url).pathname, '--load', path, use], {
      encoding: 'utf8',
    });
    const [load, run] = out.trim().split(' ').map(Number);
    const dataMB = statSync(join(dir, 'tied.onnx_data')).size / 1e6;
    console.log(`\nq4 tied embedding ${V}×${H} (uses: ${use}), onnxruntime-node, 2 threads:`);
    console.log('| on disk (MB) | fp32 table (MB) | write (s) | RSS after load (+MB) | after a run (+MB) |');
    console.log('|---|---|---|---|---|');
    console.log(
      `| ${dataMB.toFixed(1)} | ${((V * H * 4) / 1e6).toFixed(0)} | ${(writeMs / 1000).toFixed(1)} | ${load.toFixed(0)} | ${run.toFixed(0)} |`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Child: RSS growth (MB) of creating a session and of one run. */
async function loadAndRun(path, use) {
  const ort = await import('onnxruntime-node');
  const feeds = {};
  if (use !== 'head') feeds.ids = new ort.Tensor('int64', BigInt64Array.from([1n, 2n, 3n, 4n]), [1, 4]);
  if (use !== 'gather') feeds.h = new ort.Tensor('float32', gaussian(2304, 5, 1), [1, 2304]);
  const rss0 = process.memoryUsage().rss;
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 2 });
  const rss1 = process.memoryUsage().rss;
  await session.run(feeds);
  const rss2 = process.memoryUsage().rss;
  process.stdout.write(`${(rss1 - rss0) / 1e6} ${(rss2 - rss0) / 1e6}\n`);
}

function speedTable() {
  const N = 9216;
  const K = 2304;
  const W = gaussian(N * K, 7, 0.02);
  const mb = (N * K * 4) / 1e6;

  // y = x · Wᵀ for a few rows of gaussian activations, in float64.
  const M = 4;
  const X = gaussian(M * K, 9, 1);
  function outputs(w) {
    const y = new Float64Array(M * N);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let acc = 0;
        const row = n * K;
        for (let k = 0; k < K; k++) acc += X[m * K + k] * w[row + k];
        y[m * N + n] = acc;
      }
    return y;
  }
  const Y = outputs(W);

  const rows = [];
  function report(label, ms, deq) {
    const we = relativeError(W, deq);
    const oe = relativeError(Y, outputs(deq));
    rows.push([
      label,
      ms.toFixed(0),
      (mb / (ms / 1000)).toFixed(0),
      fmt(we.relRms),
      fmt(oe.relRms),
      fmt(oe.relMax),
    ]);
  }

  for (const bits of [4, 8])
    for (const symmetric of [true, false])
      for (const blockSize of [32, 64, 128]) {
        const [ms, q] = time(() => quantizeBlockwise(W, [N, K], { bits, blockSize, symmetric }));
        report(`q${bits} block ${blockSize} ${symmetric ? 'sym' : 'zp'}`, ms, dequantizeBlockwise(q));
      }
  {
    const [ms, q] = time(() =>
      quantizeBlockwise(W, [N, K], { bits: 4, blockSize: 32, symmetric: true, scaleDtype: 'float16' }),
    );
    const d = dequantizeBlockwise(q);
    report('q4f16 block 32 sym (weights only)', ms, d);
  }
  for (const symmetric of [true, false]) {
    const [ms, q] = time(() => quantizePerChannel(W, [N, K], { symmetric }));
    report(`int8 per channel ${symmetric ? 'sym' : 'uint8 zp'}`, ms, dequantizePerChannel(q));
  }
  for (const blockSize of [32, 64, 128]) {
    const [ms, q] = time(() => quantizeNf4(W, [N, K], { blockSize }));
    report(`nf4 block ${blockSize}`, ms, dequantizeNf4(q));
  }
  {
    const [ms, h] = time(() => toFloat16(W));
    const back = new Float32Array(h.length);
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let i = 0; i < h.length; i++) {
      const v = h[i];
      const e = (v >> 10) & 31;
      const m = v & 1023;
      const s = v & 0x8000 ? -1 : 1;
      back[i] = e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
    }
    void u32;
    report('fp16', ms, back);
  }
  {
    const [ms] = time(() => transpose2d(W, N, K));
    rows.push([
      'transpose2d (fp32 [K, N] copy)',
      ms.toFixed(0),
      (mb / (ms / 1000)).toFixed(0),
      '0',
      '0',
      '0',
    ]);
  }

  console.log(
    `Quantizing a ${N}×${K} Linear weight (gaussian, std 0.02), Node ${process.version}, one thread`,
  );
  console.log(
    'Errors vs float32: weights (relative RMS) and y = x·Wᵀ for 4 gaussian rows (relative RMS, relative max)\n',
  );
  console.log('| format | ms | MB/s in | weight rel RMS | output rel RMS | output rel max |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

/** Each format as a 2304 → 9216 linear in onnxruntime-node (2 threads): error vs float64, and speed. */
async function ortTable() {
  const { GraphBuilder, serializeModel } = await import('@pali/onnx');
  const { linear, linearFormat } = await import('../dist/index.js');
  const ort = await import('onnxruntime-node');
  const N = 9216;
  const K = 2304;
  const W = gaussian(N * K, 7, 0.02);
  const formats = [
    ['fp32', linearFormat('fp32')],
    ['fp16', linearFormat('fp16')],
    ['q8 (DynamicQuantizeMatMul int8)', linearFormat('q8')],
    ['uint8 (DynamicQuantizeMatMul + zp)', linearFormat('uint8')],
    [
      'MatMulNBits 8-bit blk32 acc4',
      { kind: 'blockwise', bits: 8, blockSize: 32, symmetric: true, accuracyLevel: 4 },
    ],
    ['q4 (MatMulNBits blk32 sym acc4)', linearFormat('q4')],
    ['q4 blk32 sym acc0', { kind: 'blockwise', bits: 4, blockSize: 32, symmetric: true, accuracyLevel: 0 }],
    ['q4 blk32 zp acc4', { kind: 'blockwise', bits: 4, blockSize: 32, symmetric: false, accuracyLevel: 4 }],
    ['q4 blk128 sym acc4', { kind: 'blockwise', bits: 4, blockSize: 128, symmetric: true, accuracyLevel: 4 }],
    ['q4f16 (blk32 sym, float16 compute)', linearFormat('q4f16')],
    ['bnb4 (MatMulBnb4 NF4 blk64)', linearFormat('bnb4')],
  ];
  const ref = (x, M) => {
    const y = new Float64Array(M * N);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += x[m * K + k] * W[n * K + k];
        y[m * N + n] = acc;
      }
    return y;
  };
  const x1 = gaussian(K, 21, 1);
  const x64 = gaussian(64 * K, 22, 1);
  const y1 = ref(x1, 1);
  const y64 = ref(x64, 64);
  console.log(
    '\nA 2304 → 9216 linear (gaussian W, std 0.02; gaussian x) in onnxruntime-node 1.30, 2 threads',
  );
  console.log('| format | weights (MB) | rel RMS error, M=1 | rel RMS error, M=64 | ms, M=1 | ms, M=64 |');
  console.log('|---|---|---|---|---|---|');
  for (const [label, f] of formats) {
    const g = new GraphBuilder();
    g.output(
      linear(g.input('x', 'float32', ['m', K]), 'w', () => W, { N, K }, f),
      'y',
    );
    const bytes = g.initializers.reduce((t, r) => t + r.byteLength, 0);
    const session = await ort.InferenceSession.create(await serializeModel(g), { intraOpNumThreads: 2 });
    const run = async (x, M, reps) => {
      const feeds = { x: new ort.Tensor('float32', x, [M, K]) };
      let out = await session.run(feeds);
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        out = await session.run(feeds);
        best = Math.min(best, performance.now() - t0);
      }
      return [out.y.data, best];
    };
    const [o1, t1] = await run(x1, 1, 20);
    const [o64, t64] = await run(x64, 64, 5);
    await session.release();
    console.log(
      `| ${label} | ${(bytes / 1e6).toFixed(1)} | ${fmt(relativeError(y1, o1).relRms)} | ${fmt(relativeError(y64, o64).relRms)} | ${t1.toFixed(2)} | ${t64.toFixed(1)} |`,
    );
  }
}
