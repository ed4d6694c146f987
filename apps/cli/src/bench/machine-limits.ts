import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeRuntime } from '@pali/node';
import { GraphBuilder, serializeModel } from '@pali/onnx';
import { linear, linearFormat, type WeightFormat, withBlockSize } from '@pali/quantize';

/** The kernel rates that bound decoding and prefill, measured with ONNX Runtime on this machine. */
export interface MachineLimits {
  /** GB/s streaming a weight matrix through an fp32 MatMul at M=1 (what decoding one token does). */
  memoryBandwidthGBs: number;
  /** GFLOP/s of an fp32 MatMul 256×2304 · 2304×9216 (a prefill-sized GEMM). */
  gemmGflops: number;
  /** GB/s of int4 weights through MatMulNBits (q4: block 32, accuracy_level 4) at M=1, out of cache. */
  q4StreamGBs: number;
  /** GFLOP/s of that MatMulNBits at M=256 (the q4 decoder running a prompt; the vision tower). */
  q4Gflops: number;
  /** GFLOP/s of DynamicQuantizeMatMul (int8) at M=256 with prepacked weights. */
  int8Gflops: number;
  /** The same without prepacking, as the int8 prefill graph runs (weights read from the file). */
  int8UnpackedGflops: number;
  /** The q4 block size the MatMulNBits rates were measured with (the bench's folders'). */
  q4BlockSize: number;
  threads: number | undefined;
}

/** Deterministic weights in [-0.02, 0.02): the values do not matter to the speed, only the shapes. */
function weights(n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = (((i * 2654435761) % 1000) / 1000 - 0.5) * 0.04;
  return w;
}

/** Best seconds of `runs` runs of x[M, K] · W[N, K]ᵀ stored as `format`, plus the weight bytes. */
async function timeLinear(
  m: number,
  k: number,
  n: number,
  format: WeightFormat,
  runs: number,
  options: { threads?: number; prepack?: boolean },
): Promise<{ seconds: number; weightBytes: number }> {
  // The weight is a constant (an initializer), as in the model, so ORT prepacks it the same way.
  const g = new GraphBuilder({ name: 'bench' });
  const w = weights(n * k);
  g.output(
    linear(g.input('a', 'float32', [m, k]), 'w', () => w, { N: n, K: k }, format),
    'c',
  );
  const dir = mkdtempSync(join(tmpdir(), 'pali-bench-mm-'));
  try {
    const bytes = await serializeModel(g);
    const weightBytes = g.initializers.reduce((s, i) => s + i.byteLength, 0);
    writeFileSync(join(dir, 'mm.onnx'), bytes);
    const runtime = nodeRuntime(dir, options.threads !== undefined ? { threads: options.threads } : {});
    const session = await runtime.createSession('mm.onnx', { prepack: options.prepack ?? true });
    const feeds = { a: new runtime.Tensor('float32', new Float32Array(m * k).fill(0.5), [m, k]) };
    await session.run(feeds);
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      await session.run(feeds);
      best = Math.min(best, performance.now() - t);
    }
    await session.release();
    return { seconds: best / 1000, weightBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The machine's ceilings, measured with ONNX Runtime itself (same threads as the runs). */
export async function measureMachineLimits(threads?: number, q4BlockSize = 32): Promise<MachineLimits> {
  const opts = threads !== undefined ? { threads } : {};
  const fp32 = { kind: 'float32' } as const;
  const q4 = withBlockSize(linearFormat('q4'), q4BlockSize);
  const int8 = linearFormat('q8');
  // 2304 × 32768 fp32 = 302 MB and 2304 × 65536 in q4 = 94 MB: far beyond any cache, so the time
  // is the memory read. The GEMMs are the 3B decoder's MLP shape with 256 rows (a 224 px prompt).
  const stream = await timeLinear(1, 2304, 32768, fp32, 5, opts);
  // ~3-4 ms a run: best of many, since one noisy window once halved it (16 against 28 GB/s).
  const q4Stream = await timeLinear(1, 2304, 65536, q4, 31, opts);
  const gemmFlops = 2 * 256 * 2304 * 9216;
  const gemm = await timeLinear(256, 2304, 9216, fp32, 5, opts);
  const q4Gemm = await timeLinear(256, 2304, 9216, q4, 5, opts);
  const int8Gemm = await timeLinear(256, 2304, 9216, int8, 5, opts);
  const int8Unpacked = await timeLinear(256, 2304, 9216, int8, 5, { ...opts, prepack: false });
  return {
    memoryBandwidthGBs: stream.weightBytes / stream.seconds / 1e9,
    gemmGflops: gemmFlops / gemm.seconds / 1e9,
    q4StreamGBs: q4Stream.weightBytes / q4Stream.seconds / 1e9,
    q4Gflops: gemmFlops / q4Gemm.seconds / 1e9,
    int8Gflops: gemmFlops / int8Gemm.seconds / 1e9,
    int8UnpackedGflops: gemmFlops / int8Unpacked.seconds / 1e9,
    q4BlockSize,
    threads,
  };
}
