// Lazy initializers for each weight format, quantized at write time from a WeightSource.
import { ERROR_CODES, PaliError } from '@pali/errors';
import type { GraphBuilder, Value } from '@pali/onnx';
import { blockwiseLayout, quantizeBlockwise } from './blockwise.js';
import { checkBits, checkBlockSize } from './check.js';
import { toFloat16 } from './float16.js';
import type { EmbeddingFormat, WeightFormat } from './formats.js';
import { sharedLazy, transpose2d, type WeightSource } from './lazy.js';
import { quantizeNf4 } from './nf4.js';
import { quantizePerChannel } from './per-channel.js';

export interface LinearDims {
  /** Output features (rows of the Linear weight). */
  N: number;
  /** Input features. */
  K: number;
}

/** Reads the source and checks it has N·K values. */
async function read(name: string, weight: WeightSource, N: number, K: number): Promise<Float32Array> {
  const w = await weight();
  if (!(w instanceof Float32Array) || w.length !== N * K)
    throw new PaliError(
      ERROR_CODES.SHAPE_MISMATCH,
      `Weight ${name}: its source gave ${w instanceof Float32Array ? `${w.length} float32 values` : 'no Float32Array'}, [${N}, ${K}] needs ${N * K}`,
      { hint: 'The source must return the Linear weight [out, in] as float32', details: { tensor: name } },
    );
  return w;
}

export function checkDims(what: string, N: number, K: number): void {
  if (!Number.isInteger(N) || !Number.isInteger(K) || N <= 0 || K <= 0)
    throw new PaliError(
      ERROR_CODES.INVALID_ARGUMENT,
      `${what}: dims N=${N}, K=${K} must be positive integers`,
    );
}

/** float32 or float16 [K, N]: MatMul's B, transposed from the Linear layout when written. */
export function floatWeight(
  g: GraphBuilder,
  name: string,
  weight: WeightSource,
  { N, K }: LinearDims,
  dtype: 'float32' | 'float16',
): Value {
  const f16 = dtype === 'float16';
  return g.lazyInitializer(f16 ? `${name}.T.fp16` : `${name}.T`, dtype, [K, N], async () => {
    const t = transpose2d(await read(name, weight, N, K), N, K);
    return f16 ? toFloat16(t) : t;
  });
}

/** A float32 or float16 table [N, K] as is (an embedding). */
export function floatTable(
  g: GraphBuilder,
  name: string,
  weight: WeightSource,
  { N, K }: LinearDims,
  dtype: 'float32' | 'float16',
): Value {
  return g.lazyInitializer(dtype === 'float16' ? `${name}.fp16` : name, dtype, [N, K], async () => {
    const w = await read(name, weight, N, K);
    return dtype === 'float16' ? toFloat16(w) : w;
  });
}

export interface BlockwiseInitializers {
  /** uint8 [N, kBlocks, blobSize]: MatMulNBits' B (GatherBlockQuantized's data, quantize_axis 2). */
  B: Value;
  /** [N, kBlocks], float32 or float16. */
  scales: Value;
  /** uint8 [N, ceil(kBlocks·bits/8)], MatMulNBits' packing; absent when symmetric. */
  zeroPoints?: Value;
  /**
   * 4-bit zero points for GatherBlockQuantized: uint8 [N, kBlocks, 1], one per byte (a 3-D gather packs
   * along its size-1 last axis, so MatMulNBits' two-per-byte bytes cannot serve it). Asked for lazily.
   */
  gatherZeroPoints(): Value | undefined;
}

type BlockwiseFormat = Extract<WeightFormat, { kind: 'blockwise' }>;

export function checkBlockwiseFormat(what: string, f: BlockwiseFormat): void {
  checkBits(what, f.bits);
  checkBlockSize(what, f.blockSize);
  if (f.accuracyLevel !== undefined && ![0, 1, 2, 3, 4].includes(f.accuracyLevel))
    throw new PaliError(ERROR_CODES.INVALID_ARGUMENT, `${what}: accuracyLevel must be 0..4`);
}

/** B, scales and zero points of one weight, from one quantization at write time. */
export function blockwiseWeight(
  g: GraphBuilder,
  name: string,
  weight: WeightSource,
  { N, K }: LinearDims,
  f: BlockwiseFormat | Extract<EmbeddingFormat, { kind: 'blockwise' }>,
): BlockwiseInitializers {
  checkBlockwiseFormat(name, f);
  const L = blockwiseLayout(N, K, f.bits, f.blockSize);
  const withZp = !f.symmetric;
  type Part = 'B' | 'scales' | 'zp' | 'gzp';
  // Read when a quantization starts: gzp joins once gatherZeroPoints() is called (at build time).
  const keys: Part[] = withZp ? ['B', 'scales', 'zp'] : ['B', 'scales'];
  let gatherZp: Value | undefined;
  const part = sharedLazy<Part>(keys, async () => {
    const q = quantizeBlockwise(await read(name, weight, N, K), [N, K], {
      bits: f.bits,
      blockSize: f.blockSize,
      symmetric: f.symmetric,
      scaleDtype: f.float16 ? 'float16' : 'float32',
    });
    const zp = q.zeroPoints ?? new Uint8Array(0);
    let gzp = new Uint8Array(0);
    if (gatherZp) {
      gzp = new Uint8Array(N * L.kBlocks);
      for (let n = 0; n < N; n++)
        for (let b = 0; b < L.kBlocks; b++)
          gzp[n * L.kBlocks + b] = (zp[n * L.zeroPointBytesPerRow + (b >> 1)]! >> ((b & 1) * 4)) & 15;
    }
    return { B: q.packed, scales: f.float16 ? toFloat16(q.scales) : q.scales, zp, gzp };
  });
  const suffix = f.bits === 4 ? 'q4' : 'q8';
  const sd = f.float16 ? 'float16' : 'float32';
  return {
    B: g.lazyInitializer(`${name}.${suffix}`, 'uint8', [N, L.kBlocks, L.blobSize], part('B')),
    scales: g.lazyInitializer(`${name}.scales`, sd, [N, L.kBlocks], part('scales')),
    ...(withZp
      ? {
          zeroPoints: g.lazyInitializer(
            `${name}.zero_points`,
            'uint8',
            [N, L.zeroPointBytesPerRow],
            part('zp'),
          ),
        }
      : {}),
    gatherZeroPoints() {
      if (!withZp || f.bits !== 4) return undefined;
      if (!gatherZp) {
        keys.push('gzp');
        gatherZp = g.lazyInitializer(`${name}.zero_points_gather`, 'uint8', [N, L.kBlocks, 1], part('gzp'));
      }
      return gatherZp;
    },
  };
}

/** DynamicQuantizeMatMul's B [K, N] (int8 or uint8), per-column scale and zero point. */
export function perChannelWeight(
  g: GraphBuilder,
  name: string,
  weight: WeightSource,
  { N, K }: LinearDims,
  symmetric: boolean,
): { B: Value; scale: Value; zeroPoint?: Value } {
  const keys = symmetric ? (['B', 'scale'] as const) : (['B', 'scale', 'zp'] as const);
  const part = sharedLazy<'B' | 'scale' | 'zp'>(keys, async () => {
    const q = quantizePerChannel(await read(name, weight, N, K), [N, K], { symmetric });
    return { B: q.b, scale: q.scales, zp: q.zeroPoints ?? new Uint8Array(0) };
  });
  const dtype = symmetric ? 'int8' : 'uint8';
  return {
    B: g.lazyInitializer(`${name}.${dtype}`, dtype, [K, N], part('B')),
    scale: g.lazyInitializer(`${name}.scale`, 'float32', [N], part('scale')),
    ...(symmetric ? {} : { zeroPoint: g.lazyInitializer(`${name}.zero_point`, 'uint8', [N], part('zp')) }),
  };
}

/** MatMulBnb4's B (flat NF4 bytes) and absmax per block. */
export function nf4Weight(
  g: GraphBuilder,
  name: string,
  weight: WeightSource,
  { N, K }: LinearDims,
  blockSize: number,
): { B: Value; absmax: Value } {
  checkBlockSize(name, blockSize);
  const part = sharedLazy(['B', 'absmax'] as const, async () => {
    const q = quantizeNf4(await read(name, weight, N, K), [N, K], { blockSize });
    return { B: q.packed, absmax: q.absmax };
  });
  return {
    B: g.lazyInitializer(`${name}.nf4`, 'uint8', [Math.ceil((N * K) / 2)], part('B')),
    absmax: g.lazyInitializer(`${name}.absmax`, 'float32', [Math.ceil((N * K) / blockSize)], part('absmax')),
  };
}
