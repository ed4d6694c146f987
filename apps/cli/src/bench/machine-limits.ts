import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeRuntime } from '@pali/node';
import { GraphBuilder, matMul, serializeModel } from '@pali/onnx';

export interface MachineLimits {
  /** GB/s streaming a weight matrix through an fp32 MatMul at M=1 (what decoding one token does). */
  memoryBandwidthGBs: number;
  /** GFLOP/s of an fp32 MatMul 256×2304 · 2304×9216 (a prefill-sized GEMM). */
  gemmGflops: number;
  threads: number | undefined;
}

async function timeMatMul(m: number, k: number, n: number, runs: number, threads?: number): Promise<number> {
  // B is a constant (an initializer), as weights are in the model, so ORT prepacks it the same way.
  const bv = new Float32Array(k * n);
  for (let i = 0; i < bv.length; i++) bv[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const g = new GraphBuilder({ name: 'bench' });
  const a = g.input('a', 'float32', [m, k]);
  const b = g.initializer('b', 'float32', [k, n], bv);
  g.output(matMul(a, b), 'c');
  const dir = mkdtempSync(join(tmpdir(), 'pali-bench-mm-'));
  try {
    writeFileSync(join(dir, 'mm.onnx'), await serializeModel(g));
    const runtime = nodeRuntime(dir, threads !== undefined ? { threads } : {});
    const session = await runtime.createSession('mm.onnx', {});
    const feeds = { a: new runtime.Tensor('float32', new Float32Array(m * k).fill(0.5), [m, k]) };
    await session.run(feeds);
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      await session.run(feeds);
      best = Math.min(best, performance.now() - t);
    }
    await session.release();
    return best / 1000;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The machine's ceilings, measured with ONNX Runtime itself (same threads as the runs). */
export async function measureMachineLimits(threads?: number): Promise<MachineLimits> {
  // 2304 × 32768 fp32 = 302 MB, far beyond any cache: the time is the memory read.
  const k = 2304;
  const n = 32768;
  const mv = await timeMatMul(1, k, n, 5, threads);
  const gemm = await timeMatMul(256, 2304, 9216, 5, threads);
  return {
    memoryBandwidthGBs: (k * n * 4) / mv / 1e9,
    gemmGflops: (2 * 256 * 2304 * 9216) / gemm / 1e9,
    threads,
  };
}
