// A tied embedding: one table [V, H] serves the input gather and the output head (logits = h · Eᵀ).
// Quantized, it is one set of initializers (B, scales, zero points) shared by GatherBlockQuantized and
// MatMulNBits, so no quantized model carries a float32 copy of the table.
import { ERROR_CODES, PaliError } from '@pali/errors';
import type { GraphBuilder } from '@pali/onnx';
import {
  concat,
  gather,
  gatherBlockQuantized,
  gemm,
  int64s,
  matMulNBits,
  reshape,
  shapeOf,
  slice,
  type Value,
} from '@pali/onnx';
import { blockwiseLayout } from './blockwise.js';
import { castOnce } from './float16.js';
import type { EmbeddingFormat } from './formats.js';
import { type BlockwiseInitializers, blockwiseWeight, checkDims, floatTable } from './initializers.js';
import type { WeightSource } from './lazy.js';

export interface EmbeddingDims {
  /** Rows (vocabulary). */
  V: number;
  /** Columns (hidden size). */
  H: number;
}

export interface TiedEmbedding {
  /** ids (int32/int64, any rank) → float32 [...ids, H]: the table rows, unscaled. */
  gather(ids: Value, name?: string): Value;
  /** h [..., H] → [..., V] = h · Eᵀ, in h's dtype. */
  head(h: Value, name?: string): Value;
}

/**
 * Declares the table once (lazily, quantized at write time) and returns the two uses of it. Formats:
 * float32 and float16 tables are gathered with Gather and multiplied with Gemm(transB) (no transposed
 * copy); blockwise ones are MatMulNBits' B [V, kBlocks, blob] + scales [V, kBlocks], which
 * GatherBlockQuantized reads as 3-D data (quantize_axis 2) through a Reshape of the scales to
 * [V, kBlocks, 1] (4-bit zero points get a one-per-byte copy for the gather: the only duplicate, V·kBlocks
 * bytes).
 */
export function tiedEmbedding(
  g: GraphBuilder,
  name: string,
  weight: WeightSource,
  dims: EmbeddingDims,
  format: EmbeddingFormat,
): TiedEmbedding {
  const { V, H } = dims;
  checkDims(name, V, H);
  switch (format.kind) {
    case 'float32':
    case 'float16': {
      const table = floatTable(g, name, weight, { N: V, K: H }, format.kind);
      return {
        gather: (ids, node) =>
          castOnce(gather(table, ids, 0, { name: node ?? g.uniqueName(`${name}.gather`) }), 'float32'),
        head: (h, node) => floatHead(h, table, H, V, node ?? g.uniqueName(`${name}.head`)),
      };
    }
    case 'blockwise': {
      const w = blockwiseWeight(g, name, weight, { N: V, K: H }, format);
      let gatherScales: Value | undefined;
      let gatherZp: Value | undefined | null = null;
      return {
        gather(ids, node) {
          gatherScales ??= reshape(w.scales, [V, -1, 1], { name: g.uniqueName(`${name}.scales_3d`) });
          if (gatherZp === null) gatherZp = gatherZeroPoints(w, V, name);
          return blockGather(
            ids,
            w,
            gatherScales,
            gatherZp,
            format,
            H,
            node ?? g.uniqueName(`${name}.gather`),
          );
        },
        head(h, node) {
          const a = castOnce(h, format.float16 ? 'float16' : 'float32');
          const y = matMulNBits(a, w.B, w.scales, {
            K: H,
            N: V,
            bits: format.bits,
            blockSize: format.blockSize,
            accuracyLevel: format.accuracyLevel ?? 4,
            zeroPoints: w.zeroPoints,
            name: node ?? g.uniqueName(`${name}.head`),
          });
          return y.dtype === h.dtype ? y : castOnce(y, h.dtype as 'float32' | 'float16');
        },
      };
    }
    default:
      throw new PaliError(
        ERROR_CODES.INVALID_ARGUMENT,
        `Embedding ${name}: unknown format ${JSON.stringify(format)}`,
        { hint: 'Use embeddingFormat(dtype): float32, float16 or blockwise' },
      );
  }
}

function gatherZeroPoints(w: BlockwiseInitializers, V: number, name: string): Value | undefined {
  const z = w.gatherZeroPoints();
  if (z) return z;
  if (!w.zeroPoints) return undefined;
  // 8-bit: one zero point per byte already; only the rank changes.
  return reshape(w.zeroPoints, [V, -1, 1], { name: w.zeroPoints.graph.uniqueName(`${name}.zero_points_3d`) });
}

function blockGather(
  ids: Value,
  w: BlockwiseInitializers,
  scales: Value,
  zeroPoints: Value | undefined,
  f: Extract<EmbeddingFormat, { kind: 'blockwise' }>,
  H: number,
  node: string,
): Value {
  if (ids.dtype !== 'int64' && ids.dtype !== 'int32')
    throw new PaliError(
      ERROR_CODES.GRAPH_ERROR,
      `Node "${node}": ids must be int32 or int64, got ${ids.dtype}`,
    );
  if (!ids.shape)
    throw new PaliError(ERROR_CODES.GRAPH_ERROR, `Node "${node}": ids need a known rank`, {
      hint: 'Declare the ids input with a shape such as ["batch", "sequence"]',
    });
  const L = blockwiseLayout(1, H, f.bits, f.blockSize);
  // The 3-D view [V, kBlocks, blob] of MatMulNBits' B is uint8 data quantized along its last axis, one
  // block per row of it: what GatherBlockQuantized takes (its 2-D form would need B reshaped).
  const y = gatherBlockQuantized(w.B, ids, scales, {
    gatherAxis: 0,
    quantizeAxis: 2,
    blockSize: f.blockSize,
    bits: f.bits,
    zeroPoints,
    name: node,
  });
  let out = reshape(y, [...ids.shape.map(() => 0), -1], { name: `${node}.flat` });
  if (L.kBlocks * f.blockSize !== H)
    out = slice(out, [0], [H], [ids.shape.length], undefined, { name: `${node}.unpad` });
  return castOnce(out, 'float32');
}

/** h · Eᵀ with Gemm(transB) on 2-D h, reshaped around it for other ranks. */
function floatHead(h: Value, table: Value, H: number, V: number, node: string): Value {
  const a = castOnce(h, table.dtype as 'float32' | 'float16');
  let y: Value;
  if (a.shape?.length === 2) y = gemm(a, table, undefined, { transB: true, name: node });
  else {
    const g = h.graph;
    const flat = reshape(a, [-1, H], { name: `${node}.flat` });
    const prod = gemm(flat, table, undefined, { transB: true, name: node });
    const lead = shapeOf(a, 0, -1, { name: `${node}.lead` });
    const shape = concat([lead, int64s(g, [V], `${node}.vocab`)], 0, { name: `${node}.shape` });
    y = reshape(prod, shape, { name: `${node}.out` });
  }
  return y.dtype === h.dtype ? y : castOnce(y, h.dtype as 'float32' | 'float16');
}
