// Plain TypeScript reference computations the ONNX ops are compared against.

export interface T {
  data: Float32Array;
  shape: number[];
}

export const t = (data: ArrayLike<number>, shape: number[]): T => ({ data: Float32Array.from(data), shape });

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Index into a tensor of `shape` from an index of the broadcast output shape. */
function bcIndex(idx: number[], shape: readonly number[]): number {
  const s = strides(shape);
  let off = 0;
  const r = idx.length;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    off += (d === 1 ? 0 : idx[r - shape.length + i]!) * s[i]!;
  }
  return off;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = i % shape[k]!;
    i = Math.floor(i / shape[k]!);
  }
  return idx;
}

export function binary(a: T, b: T, f: (x: number, y: number) => number): T {
  const shape = broadcastShape(a.shape, b.shape);
  const out = new Float32Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    out[i] = f(a.data[bcIndex(idx, a.shape)]!, b.data[bcIndex(idx, b.shape)]!);
  }
  return { data: out, shape };
}

export function map(a: T, f: (x: number) => number): T {
  return { data: a.data.map(f), shape: [...a.shape] };
}

/** erf with |error| < 1.2e-7 (Numerical Recipes erfc). */
export function erf(x: number): number {
  const z = Math.abs(x);
  const tt = 1 / (1 + 0.5 * z);
  const r =
    tt *
    Math.exp(
      -z * z -
        1.26551223 +
        tt *
          (1.00002368 +
            tt *
              (0.37409196 +
                tt *
                  (0.09678418 +
                    tt *
                      (-0.18628806 +
                        tt *
                          (0.27886807 +
                            tt *
                              (-1.13520398 + tt * (1.48851587 + tt * (-0.82215223 + tt * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

export const geluErf = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
export const geluTanh = (x: number) =>
  0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** Batched matmul [..., M, K] × [..., K, N] with broadcasting batch dims. */
export function matmul(a: T, b: T): T {
  const M = a.shape[a.shape.length - 2]!;
  const K = a.shape[a.shape.length - 1]!;
  const N = b.shape[b.shape.length - 1]!;
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const nb = size(batch);
  const out = new Float32Array(nb * M * N);
  for (let bi = 0; bi < nb; bi++) {
    const idx = unravel(bi, batch);
    const ao = bcIndex(idx, a.shape.slice(0, -2)) * M * K;
    const bo = bcIndex(idx, b.shape.slice(0, -2)) * K * N;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a.data[ao + m * K + k]! * b.data[bo + k * N + n]!;
        out[bi * M * N + m * N + n] = s;
      }
  }
  return { data: out, shape: [...batch, M, N] };
}

export function transpose(a: T, perm: number[]): T {
  const shape = perm.map((p) => a.shape[p]!);
  const s = strides(a.shape);
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    let off = 0;
    for (let k = 0; k < perm.length; k++) off += idx[k]! * s[perm[k]!]!;
    out[i] = a.data[off]!;
  }
  return { data: out, shape };
}

/** Applies f to each row of the last axis. */
export function rows(a: T, f: (row: Float32Array) => ArrayLike<number>): T {
  const n = a.shape[a.shape.length - 1]!;
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < a.data.length; i += n) out.set(f(a.data.subarray(i, i + n)), i);
  return { data: out, shape: [...a.shape] };
}

export function softmaxRow(r: ArrayLike<number>): Float32Array {
  const m = Math.max(...Array.from(r));
  const e = Array.from(r, (x) => Math.exp(x - m));
  const s = e.reduce((x, y) => x + y, 0);
  return Float32Array.from(e, (x) => x / s);
}

export const softmax = (a: T) => rows(a, softmaxRow);

export function layerNorm(a: T, scale: ArrayLike<number>, bias: ArrayLike<number> | null, eps: number): T {
  return rows(a, (r) => {
    const mean = r.reduce((x, y) => x + y, 0) / r.length;
    const v = r.reduce((x, y) => x + (y - mean) ** 2, 0) / r.length;
    return Array.from(r, (x, i) => ((x - mean) / Math.sqrt(v + eps)) * scale[i]! + (bias ? bias[i]! : 0));
  });
}

export function rmsNorm(a: T, scale: ArrayLike<number>, eps: number): T {
  return rows(a, (r) => {
    const ms = r.reduce((x, y) => x + y * y, 0) / r.length;
    return Array.from(r, (x, i) => (x / Math.sqrt(ms + eps)) * scale[i]!);
  });
}

/** 2-D convolution, NCHW, weights [M, C/group, kH, kW], pads [top, left, bottom, right]. */
export function conv2d(
  x: T,
  w: T,
  b: ArrayLike<number> | null,
  o: { strides?: number[]; pads?: number[]; dilations?: number[]; group?: number } = {},
): T {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [M, Cg, kH, kW] = w.shape as [number, number, number, number];
  const [sH, sW] = o.strides ?? [1, 1];
  const [pT, pL, pB, pR] = o.pads ?? [0, 0, 0, 0];
  const [dH, dW] = o.dilations ?? [1, 1];
  const G = o.group ?? 1;
  const oH = Math.floor((H + pT! + pB! - dH! * (kH - 1) - 1) / sH!) + 1;
  const oW = Math.floor((W + pL! + pR! - dW! * (kW - 1) - 1) / sW!) + 1;
  const out = new Float32Array(N * M * oH * oW);
  const mPerG = M / G;
  for (let n = 0; n < N; n++)
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / mPerG);
      for (let oh = 0; oh < oH; oh++)
        for (let ow = 0; ow < oW; ow++) {
          let s = b ? b[m]! : 0;
          for (let c = 0; c < Cg; c++)
            for (let i = 0; i < kH; i++)
              for (let j = 0; j < kW; j++) {
                const ih = oh * sH! - pT! + i * dH!;
                const iw = ow * sW! - pL! + j * dW!;
                if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
                s +=
                  x.data[((n * C + g * Cg + c) * H + ih) * W + iw]! *
                  w.data[((m * Cg + c) * kH + i) * kW + j]!;
              }
          out[((n * M + m) * oH + oh) * oW + ow] = s;
        }
    }
  return { data: out, shape: [N, M, oH, oW] };
}

/** 2-D transposed convolution, NCHW, weights [C, M, kH, kW] (group 1), pads [top, left, bottom, right]. */
export function convTranspose2d(
  x: T,
  w: T,
  b: ArrayLike<number> | null,
  o: { strides?: number[]; pads?: number[]; outputPadding?: number[] } = {},
): T {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [, M, kH, kW] = w.shape as [number, number, number, number];
  const [sH, sW] = o.strides ?? [1, 1];
  const [pT, pL, pB, pR] = o.pads ?? [0, 0, 0, 0];
  const [opH, opW] = o.outputPadding ?? [0, 0];
  const oH = sH! * (H - 1) + opH! + kH - pT! - pB!;
  const oW = sW! * (W - 1) + opW! + kW - pL! - pR!;
  const out = new Float32Array(N * M * oH * oW);
  for (let n = 0; n < N; n++)
    for (let m = 0; m < M; m++) {
      for (let i = 0; i < oH * oW; i++) out[(n * M + m) * oH * oW + i] = b ? b[m]! : 0;
      for (let c = 0; c < C; c++)
        for (let h = 0; h < H; h++)
          for (let ww = 0; ww < W; ww++)
            for (let i = 0; i < kH; i++)
              for (let j = 0; j < kW; j++) {
                const oh = h * sH! - pT! + i;
                const ow = ww * sW! - pL! + j;
                if (oh < 0 || ow < 0 || oh >= oH || ow >= oW) continue;
                out[((n * M + m) * oH + oh) * oW + ow]! +=
                  x.data[((n * C + c) * H + h) * W + ww]! * w.data[((c * M + m) * kH + i) * kW + j]!;
              }
    }
  return { data: out, shape: [N, M, oH, oW] };
}

/**
 * Attention for one batch row: q [S, H, D], k/v [T, Hkv, D] (GQA: head h uses kv head h / (H/Hkv)),
 * additive bias [S, T] or a causal mask, optional tanh soft-cap; returns [S, H, D].
 */
export function attention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  o: {
    S: number;
    T: number;
    H: number;
    Hkv: number;
    D: number;
    scale?: number;
    softcap?: number;
    bias?: Float32Array;
    causal?: boolean;
    pastLen?: number;
  },
): Float32Array {
  const { S, T, H, Hkv, D } = o;
  const scale = o.scale ?? 1 / Math.sqrt(D);
  const out = new Float32Array(S * H * D);
  for (let h = 0; h < H; h++) {
    const kh = Math.floor(h / (H / Hkv));
    for (let s = 0; s < S; s++) {
      const logits = new Float64Array(T);
      for (let tt = 0; tt < T; tt++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[(s * H + h) * D + d]! * k[(tt * Hkv + kh) * D + d]!;
        let x = dot * scale;
        if (o.softcap) x = o.softcap * Math.tanh(x / o.softcap);
        if (o.bias) x += o.bias[s * T + tt]!;
        if (o.causal && tt > s + (o.pastLen ?? 0)) x = Number.NEGATIVE_INFINITY;
        logits[tt] = x;
      }
      const p = softmaxRow(logits);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let tt = 0; tt < T; tt++) acc += p[tt]! * v[(tt * Hkv + kh) * D + d]!;
        out[(s * H + h) * D + d] = acc;
      }
    }
  }
  return out;
}

/** HF rotate_half RoPE of one head vector x[D] at position pos, with cos/sin rows of D/2. */
export function ropeHalf(x: ArrayLike<number>, cos: ArrayLike<number>, sin: ArrayLike<number>): Float32Array {
  const D = x.length;
  const h = D / 2;
  const out = new Float32Array(D);
  for (let i = 0; i < h; i++) {
    out[i] = x[i]! * cos[i]! - x[i + h]! * sin[i]!;
    out[i + h] = x[i + h]! * cos[i]! + x[i]! * sin[i]!;
  }
  return out;
}

/** cos/sin caches [maxPos, D/2] for RoPE base theta. */
export function ropeCaches(
  maxPos: number,
  D: number,
  theta = 10000,
): { cos: Float32Array; sin: Float32Array } {
  const h = D / 2;
  const cos = new Float32Array(maxPos * h);
  const sin = new Float32Array(maxPos * h);
  for (let p = 0; p < maxPos; p++)
    for (let i = 0; i < h; i++) {
      const f = p / theta ** ((2 * i) / D);
      cos[p * h + i] = Math.cos(f);
      sin[p * h + i] = Math.sin(f);
    }
  return { cos, sin };
}
