// Runs models built in tests through onnxruntime-node and onnxruntime-web (wasm, in Node).
import { type GraphBuilder, serializeModel } from '@pali/onnx';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-common';
import * as ortNode from 'onnxruntime-node';

export type Feed = { type: OrtTensor.Type; data: OrtTensor.DataType; dims: readonly number[] };
export type Outputs = Record<string, { data: OrtTensor.DataType; dims: readonly number[]; type: string }>;
type OrtModule = { InferenceSession: typeof InferenceSession; Tensor: typeof OrtTensor };

async function runWith(
  ort: OrtModule,
  model: Uint8Array,
  feeds: Record<string, Feed>,
  options: InferenceSession.SessionOptions,
): Promise<Outputs> {
  const session = await ort.InferenceSession.create(model, options);
  try {
    const inputs: Record<string, OrtTensor> = {};
    for (const [k, f] of Object.entries(feeds))
      inputs[k] = new ort.Tensor(f.type, f.data as never, f.dims as number[]);
    const res = await session.run(inputs);
    const out: Outputs = {};
    for (const [k, t] of Object.entries(res)) out[k] = { data: t.data, dims: t.dims, type: t.type };
    return out;
  } finally {
    await session.release();
  }
}

let web: Promise<OrtModule> | undefined;
function wasm(): Promise<OrtModule> {
  web ??= import('onnxruntime-web').then((m) => {
    m.env.wasm.numThreads = 1;
    return m as unknown as OrtModule;
  });
  return web;
}

export type Backend = 'node' | 'wasm';

/** Builds the model in memory and runs it in onnxruntime-node or onnxruntime-web's wasm backend. */
export async function runGraph(
  g: GraphBuilder,
  feeds: Record<string, Feed>,
  backend: Backend = 'node',
): Promise<Outputs> {
  const model = await serializeModel(g);
  return backend === 'node'
    ? runWith(ortNode as unknown as OrtModule, model, feeds, { intraOpNumThreads: 1, logSeverityLevel: 3 })
    : runWith(await wasm(), model, feeds, { executionProviders: ['wasm'], logSeverityLevel: 3 });
}

export const f32 = (data: ArrayLike<number>, dims: readonly number[]): Feed => ({
  type: 'float32',
  data: Float32Array.from(data),
  dims,
});
export const i64 = (data: readonly number[], dims: readonly number[]): Feed => ({
  type: 'int64',
  data: BigInt64Array.from(data.map(BigInt)),
  dims,
});

/** Max absolute difference; NaN counts as infinitely far. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Deterministic pseudo-random numbers in [-1, 1) (mulberry32). */
export function rand(n: number, seed = 1, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** y[m, n] = Σ_k a[m, k] · w[n, k] in float64 (the reference for x · Wᵀ). */
export function matMulNT(a: Float32Array, w: Float32Array, M: number, K: number, N: number): Float32Array {
  const out = new Float32Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += a[m * K + k]! * w[n * K + k]!;
      out[m * N + n] = acc;
    }
  return out;
}
