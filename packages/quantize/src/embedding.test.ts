import { GraphBuilder } from '@pali/onnx';
import { describe, expect, it } from 'vitest';
import { type Backend, f32, i64, matMulNT, maxAbs, maxAbsDiff, rand, runGraph } from '../test/helpers/ort.js';
import { dequantizeBlockwise, quantizeBlockwise } from './blockwise.js';
import { tiedEmbedding } from './embedding.js';
import { type EmbeddingFormat, embeddingFormat } from './formats.js';

const V = 40;
const H = 200; // not a multiple of 32, 64 or 128: the gathered rows are padded and cut back to H
const E = rand(V * H, 11, 0.7);
const IDS = [3, 39, 0, 3, 17, 8];
const HID = rand(2 * 3 * H, 12); // h [2, 3, H]

const f16 = (v: number) => {
  const b = new Float32Array([v]);
  const u = new Uint32Array(b.buffer)[0]!;
  // Round to 10 mantissa bits (nearest even); the values here are all normal halves.
  const r = (u + 0xfff + ((u >> 13) & 1)) & ~0x1fff;
  return new Float32Array(new Uint32Array([r]).buffer)[0]!;
};

function table(format: EmbeddingFormat): Float32Array {
  if (format.kind === 'float32') return E;
  if (format.kind === 'float16') return E.map(f16);
  const { bits, blockSize, symmetric } = format;
  return dequantizeBlockwise(
    quantizeBlockwise(E, [V, H], {
      bits,
      blockSize,
      symmetric,
      scaleDtype: format.float16 ? 'float16' : 'float32',
    }),
  );
}

const formats: [string, EmbeddingFormat][] = [
  ['fp32', embeddingFormat('fp32')],
  ['fp16', embeddingFormat('fp16')],
  ['q4f16', embeddingFormat('q4f16')],
];
for (const bits of [4, 8] as const)
  for (const symmetric of [true, false])
    for (const blockSize of [32, 64, 128])
      formats.push([
        `q${bits} block ${blockSize} ${symmetric ? 'symmetric' : 'zero points'}`,
        { kind: 'blockwise', bits, blockSize, symmetric, accuracyLevel: 0 },
      ]);

describe('tiedEmbedding(): one table for the gather and the head', () => {
  for (const backend of ['node', 'wasm'] as Backend[])
    it(`onnxruntime-${backend}: ${formats.length} formats, gather = table rows, head = h · tableᵀ`, async () => {
      const g = new GraphBuilder();
      const ids = g.input('ids', 'int64', ['b', 's']);
      const h3 = g.input('h3', 'float32', ['b', 's', H]);
      const h2 = g.input('h2', 'float32', ['m', H]);
      for (const [i, [, f]] of formats.entries()) {
        const emb = tiedEmbedding(g, `emb${i}`, () => E, { V, H }, f);
        g.output(emb.gather(ids), `g${i}`);
        g.output(emb.head(h3), `head${i}`);
        g.output(emb.head(h2), `m${i}`);
      }
      const out = await runGraph(
        g,
        { ids: i64(IDS, [2, 3]), h3: f32(HID, [2, 3, H]), h2: f32(HID.subarray(0, 2 * H), [2, H]) },
        backend,
      );
      for (const [i, [label, f]] of formats.entries()) {
        const t = table(f);
        const half = f.kind === 'float16' || (f.kind === 'blockwise' && f.float16);
        // A float16 table dequantizes in float16: (q - zp) · scale rounded to half.
        const rows = IDS.flatMap((r) => Array.from(t.subarray(r * H, r * H + H), half ? f16 : (v) => v));
        expect(out[`g${i}`]!.dims, label).toEqual([2, 3, H]);
        expect(out[`g${i}`]!.type).toBe('float32');
        expect(maxAbsDiff(out[`g${i}`]!.data as Float32Array, rows), `${label} gather`).toBeLessThan(1e-6);
        const hIn = half ? HID.map(f16) : HID;
        const want = matMulNT(hIn, t, 6, H, V);
        const tol = (half ? 3e-3 : 1e-5) * maxAbs(want);
        expect(out[`head${i}`]!.dims, label).toEqual([2, 3, V]);
        expect(maxAbsDiff(out[`head${i}`]!.data as Float32Array, want), `${label} head`).toBeLessThan(tol);
        expect(
          maxAbsDiff(out[`m${i}`]!.data as Float32Array, want.subarray(0, 2 * V)),
          `${label} 2-D head`,
        ).toBeLessThan(tol);
      }
    }, 60_000);

  it('stores the quantized table once, with no float32 copy', () => {
    const g = new GraphBuilder();
    const ids = g.input('ids', 'int64', [1, 4]);
    const h = g.input('h', 'float32', [1, H]);
    for (const [name, f] of [
      ['q4', embeddingFormat('q4')],
      ['u8', embeddingFormat('uint8')],
      ['zp4', { kind: 'blockwise', bits: 4, blockSize: 32, symmetric: false } as const],
    ] as const) {
      const emb = tiedEmbedding(g, name, () => E, { V, H }, f);
      g.output(emb.gather(ids));
      g.output(emb.head(h));
    }
    const inits = g.initializers
      .filter((r) => r.dims.length > 1)
      .map((r) => `${r.name}:${r.dtype}[${r.dims.join(',')}]`);
    expect(inits).toEqual([
      'q4.q4:uint8[40,7,16]',
      'q4.scales:float32[40,7]',
      'u8.q8:uint8[40,7,32]',
      'u8.scales:float32[40,7]',
      'u8.zero_points:uint8[40,7]',
      'zp4.q4:uint8[40,7,16]',
      'zp4.scales:float32[40,7]',
      'zp4.zero_points:uint8[40,4]',
      // 4-bit zero points, one per byte, for the gather: V·kBlocks bytes.
      'zp4.zero_points_gather:uint8[40,7,1]',
    ]);
    expect(g.initializers.some((r) => r.dtype === 'float32' && r.byteLength >= V * H * 4)).toBe(false);
  });
});
