// Benchmark: write a > 4 GB model with external data through writeModel, streaming one tensor at a
// time from a lazy source, and report the writer's peak RSS and throughput next to the disk's raw
// sequential write speed (same bytes, same chunk size, plain fs writes). Output goes to a temp folder
// under /tmp and is deleted afterwards.
//
//   pnpm --filter @pali/onnx bench:write [--gb 4.5] [--tensor-mb 64] [--rounds 2] [--ort-gb 2.5] [--dir /tmp]
//
// --ort-gb N also writes an N GB variant and runs it in onnxruntime-node (checks a > 2 GB external-data
// model loads and computes the right numbers); 0 skips it.
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GraphBuilder } from '../src/graph/graph-builder.js';
import { add, matMul } from '../src/index.js';
import { writeModel } from '../src/node/write-model.js';

const { values } = parseArgs({
  options: {
    gb: { type: 'string', default: '4.5' },
    'tensor-mb': { type: 'string', default: '64' },
    'ort-gb': { type: 'string', default: '2.5' },
    dir: { type: 'string', default: tmpdir() },
    rounds: { type: 'string', default: '2' },
  },
});
const MiB = 1 << 20;
const tensorBytes = Number(values['tensor-mb']) * MiB;
const side = Math.round(Math.sqrt(tensorBytes / 4)); // square fp32 matrices
const count = Math.ceil((Number(values.gb) * 1e9) / (side * side * 4));

/** Fills `buf` with tensor `i`: 1 MiB of xorshift noise in [-1/side, 1/side), repeated. */
function fillTensor(buf: Float32Array, i: number): void {
  const block = Math.min(buf.length, MiB / 4);
  let s = (i + 1) * 0x9e3779b9;
  for (let k = 0; k < block; k++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    buf[k] = ((s >>> 0) / 4294967296 - 0.5) * (2 / side);
  }
  for (let n = block; n < buf.length; n *= 2) buf.copyWithin(n, 0, Math.min(n, buf.length - n));
}

function rssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** x[1, side] → Σᵢ x·Wᵢ, every Wᵢ a lazy initializer produced into one reused buffer. */
function buildModel(n: number, buf: Float32Array): GraphBuilder {
  const g = new GraphBuilder({ name: 'bench' });
  const x = g.input('x', 'float32', [1, side]);
  let acc = null;
  for (let i = 0; i < n; i++) {
    const w = g.lazyInitializer(`w${i}`, 'float32', [side, side], () => {
      fillTensor(buf, i);
      return buf;
    });
    const y = matMul(x, w);
    acc = acc ? add(acc, y) : y;
  }
  g.output(acc!, 'y');
  return g;
}

async function rawWrite(path: string, total: number, buf: Float32Array): Promise<number> {
  const bytes = new Uint8Array(buf.buffer);
  const t0 = performance.now();
  const fh = await open(path, 'w');
  for (let off = 0; off < total; off += bytes.byteLength) {
    const n = Math.min(bytes.byteLength, total - off);
    await fh.write(bytes, 0, n, off);
  }
  await fh.sync();
  await fh.close();
  return (performance.now() - t0) / 1000;
}

async function ortCheck(dir: string, gb: number, buf: Float32Array) {
  const n = Math.ceil((gb * 1e9) / (side * side * 4));
  const path = join(dir, 'ort-check.onnx');
  await writeModel(buildModel(n, buf), path);
  const size = (await stat(`${path}_data`)).size;
  const ort = await import('onnxruntime-node');
  const x = new Float32Array(side).map((_, k) => Math.sin(k));
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 2 });
  const load = (performance.now() - t0) / 1000;
  const out = (await session.run({ x: new ort.Tensor('float32', x, [1, side]) })).y!.data as Float32Array;
  await session.release();
  // Recompute Σᵢ x·Wᵢ in TypeScript from the same generator.
  const want = new Float64Array(side);
  for (let i = 0; i < n; i++) {
    fillTensor(buf, i);
    for (let r = 0; r < side; r++) {
      const xr = x[r]!;
      const row = r * side;
      for (let c = 0; c < side; c++) want[c]! += xr * buf[row + c]!;
    }
  }
  let maxErr = 0;
  for (let c = 0; c < side; c++) maxErr = Math.max(maxErr, Math.abs(out[c]! - want[c]!));
  await rm(path, { force: true });
  await rm(`${path}_data`, { force: true });
  return { size, load, maxErr, n };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(values.dir!, 'pali-onnx-bench-'));
  const buf = new Float32Array(side * side);
  const rounds = Number(values.rounds);
  try {
    const rssBefore = rssMiB();
    const path = join(dir, 'model.onnx');
    const writer: number[] = [];
    const raw: number[] = [];
    let dataBytes = 0;
    let modelBytes = 0;
    // Warm-up: the first write to fresh blocks of a thin-provisioned VM disk is several times slower
    // than later ones (whichever writer goes first pays it), so write the same size once unmeasured.
    const estimate = count * side * side * 4;
    await rawWrite(join(dir, 'warmup.bin'), estimate, buf);
    await rm(join(dir, 'warmup.bin'), { force: true });
    // Alternate writer and raw runs: the disk's speed drifts with background writeback.
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      const res = await writeModel(buildModel(count, buf), path, { fsync: true });
      writer.push((performance.now() - t0) / 1000);
      dataBytes = (await stat(res.dataPath!)).size;
      modelBytes = (await stat(path)).size;
      await rm(path, { force: true });
      await rm(res.dataPath!, { force: true });
      raw.push(await rawWrite(join(dir, 'raw.bin'), dataBytes, buf));
      await rm(join(dir, 'raw.bin'), { force: true });
    }
    const rssWriter = rssMiB();
    const mbps = (s: number) => dataBytes / 1e6 / s;
    const list = (xs: number[]) => xs.map((x) => mbps(x).toFixed(0)).join(', ');
    const mean = (xs: number[]) => mbps(xs.reduce((a, b) => a + b, 0) / xs.length);
    const rows: [string, string][] = [
      ['tensors', `${count} × fp32 [${side}, ${side}] (${((side * side * 4) / MiB).toFixed(0)} MiB), lazy`],
      ['external data file', `${(dataBytes / 1e9).toFixed(2)} GB`],
      ['.onnx protobuf', `${(modelBytes / 1024).toFixed(1)} KiB`],
      ['writeModel throughput, per round (incl. generating tensors, fsync)', `${list(writer)} MB/s`],
      ['raw sequential fs write of the same bytes, per round (fsync)', `${list(raw)} MB/s`],
      [
        'writeModel / raw (mean time)',
        `${mean(writer).toFixed(0)} / ${mean(raw).toFixed(0)} MB/s = ${((mean(writer) / mean(raw)) * 100).toFixed(0)} %`,
      ],
      ['peak RSS before writing', `${rssBefore.toFixed(0)} MiB`],
      ['peak RSS of the process after all rounds (maxRSS)', `${rssWriter.toFixed(0)} MiB`],
    ];
    const gb = Number(values['ort-gb']);
    if (gb > 0) {
      const c = await ortCheck(dir, gb, buf);
      rows.push([
        `onnxruntime-node loads and runs a ${(c.size / 1e9).toFixed(2)} GB external-data variant`,
        `load ${c.load.toFixed(1)} s, max abs diff vs TypeScript ${c.maxErr.toExponential(1)} (${c.n} MatMuls)`,
      ]);
      rows.push(['peak RSS after the ORT check (ORT holds the weights)', `${rssMiB().toFixed(0)} MiB`]);
    }
    console.log('| measure | value |\n|---|---|');
    for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
