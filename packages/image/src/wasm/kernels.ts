/**
 * Pillow's two 8-bit RGB passes (ImagingResampleHorizontal_8bpc / Vertical_8bpc) as WebAssembly SIMD
 * functions, assembled here byte by byte so the package ships no binary and needs no build step.
 * They compute the same integer products and wrap-around int32 sums as Pillow's C loops, so the bytes
 * are identical; the golden tests run every case through them and through the JS loops. Used where
 * WebAssembly SIMD exists (Node 20, current browsers); elsewhere resample.ts runs its JS loops.
 */
import {
  ADD,
  EXTEND_HIGH_U8,
  EXTEND_HIGH_U16,
  EXTEND_LOW_U8,
  EXTEND_LOW_U16,
  EXTRACT_LANE0,
  get,
  I32X4_ADD,
  I32X4_DOT_I16X8,
  I32X4_MUL,
  I32X4_SHL,
  I32X4_SHR_S,
  I32X4_SPLAT,
  i32,
  LOAD32_SPLAT,
  LOAD64_ZERO,
  load,
  MUL,
  NARROW_I16_TO_U8,
  NARROW_I32_TO_I16,
  PAIR_SHUFFLE,
  SHL,
  SHR_U,
  section,
  set,
  store8,
  store16,
  str,
  tee,
  uleb,
  V128_LOAD,
  V128_STORE,
  V128_ZERO,
  vec,
  whileLess,
} from './assembler.js';

// Locals: 0 src, 1 stride, 2 rows, 3 outW, 4 bounds, 5 weight pairs, 6 bytes of pairs per output,
// 7 out (params); 8 yy, 9 xx, 10 x, 11 xmax / result, 12 p, 13 kp, 14 rowBase, 15 o, 16 kstride;
// 17 high-part sums, 18 low-part sums, 19 zero, 20 pixel pair (v128).
const [SRC, STRIDE, ROWS, OUTW, BOUNDS, WEIGHTS, KSIZE, OUT] = [0, 1, 2, 3, 4, 5, 6, 7];
const [YY, XX, X, XMAX, P, KP, ROWBASE, O, KSTRIDE] = [8, 9, 10, 11, 12, 13, 14, 15, 16];
const [ACC, ACCL, ZERO, PIX] = [17, 18, 19, 20];

/**
 * Two taps: i32x4.dot_i16x8_s of the pixel pair with the weights' high 11+ bits and, apart, with
 * their low 11 bits (a 22-bit weight does not fit an i16); (high << 11) + low is the exact sum.
 */
const tap = [
  ...[...get(P), ...LOAD64_ZERO, ...get(ZERO), ...PAIR_SHUFFLE, ...tee(PIX)],
  ...[...get(KP), ...LOAD32_SPLAT(0), ...I32X4_DOT_I16X8, ...get(ACC), ...I32X4_ADD, ...set(ACC)],
  ...[
    ...get(PIX),
    ...get(KP),
    ...LOAD32_SPLAT(4),
    ...I32X4_DOT_I16X8,
    ...get(ACCL),
    ...I32X4_ADD,
    ...set(ACCL),
  ],
  ...[...get(P), ...i32(6), ...ADD, ...set(P)],
  ...[...get(KP), ...i32(8), ...ADD, ...set(KP)],
  ...[...get(X), ...i32(2), ...ADD, ...set(X)],
];

const boundsAt = [...get(BOUNDS), ...get(XX), ...i32(3), ...SHL, ...ADD];
const pixel = [
  ...[...get(ROWBASE), ...boundsAt, ...load(2, 0), ...i32(3), ...MUL, ...ADD, ...set(P)],
  ...[...boundsAt, ...load(2, 4), ...set(XMAX)],
  ...[...get(WEIGHTS), ...get(XX), ...get(KSTRIDE), ...MUL, ...ADD, ...set(KP)],
  ...[...V128_ZERO, ...set(ACC), ...i32(1 << 21), ...I32X4_SPLAT, ...set(ACCL)],
  ...[...i32(0), ...set(X)],
  ...whileLess(get(X), get(XMAX), tap),
  ...[...get(ACC), ...i32(11), ...I32X4_SHL, ...get(ACCL), ...I32X4_ADD, ...set(ACC)],
  // (sum >> 22) saturated to 0..255 through i16, then the low 3 bytes stored.
  ...[...get(ACC), ...i32(22), ...I32X4_SHR_S, ...tee(ACC), ...get(ACC), ...NARROW_I32_TO_I16],
  ...[...tee(ACC), ...get(ACC), ...NARROW_I16_TO_U8, ...EXTRACT_LANE0, ...set(XMAX)],
  ...[...get(O), ...get(XMAX), ...store16(0)],
  ...[...get(O), ...get(XMAX), ...i32(16), ...SHR_U, ...store8(2)],
  ...[...get(O), ...i32(3), ...ADD, ...set(O)],
  ...[...get(XX), ...i32(1), ...ADD, ...set(XX)],
];

const row = [
  ...[...get(SRC), ...get(YY), ...get(STRIDE), ...MUL, ...ADD, ...set(ROWBASE)],
  ...[...i32(0), ...set(XX)],
  ...whileLess(get(XX), get(OUTW), pixel),
  ...[...get(YY), ...i32(1), ...ADD, ...set(YY)],
];

const horizontalBody = [
  ...vec([
    [9, 0x7f],
    [4, 0x7b],
  ]),
  ...[...V128_ZERO, ...set(ZERO)],
  ...[...get(OUT), ...set(O)],
  ...[...get(KSIZE), ...set(KSTRIDE)],
  ...whileLess(get(YY), get(ROWS), row),
  0x0b,
];

// Vertical pass. Params: 0 src, 1 rowLen, 2 outRows, 3 bounds, 4 weights, 5 weight bytes per output
// row, 6 out; locals 7 yy, 8 c, 9 y, 10 ymax, 11 p, 12 kp, 13 first source row, 14 output row;
// v128: 15-18 sums of bytes 0-3, 4-7, 8-11, 12-15 of a 16-byte column, 19 weight, 20 low, 21 high.
const V = { SRC: 0, ROWLEN: 1, ROWS: 2, BOUNDS: 3, WEIGHTS: 4, KSTRIDE: 5, OUT: 6 } as const;
const [VYY, VC, VY, VYMAX, VP, VKP, VROW, VO] = [7, 8, 9, 10, 11, 12, 13, 14];
const [S0, S1, S2, S3, W, LO, HI] = [15, 16, 17, 18, 19, 20, 21];

const addProduct = (acc: number, half: number, extend: number[]) => [
  ...[...get(acc), ...get(half), ...extend, ...get(W), ...I32X4_MUL, ...I32X4_ADD, ...set(acc)],
];
const verticalTap = [
  ...[...get(VP), ...V128_LOAD, ...tee(HI), ...EXTEND_LOW_U8, ...set(LO)],
  ...[...get(HI), ...EXTEND_HIGH_U8, ...set(HI)],
  ...[...get(VKP), ...load(2, 0), ...I32X4_SPLAT, ...set(W)],
  ...addProduct(S0, LO, EXTEND_LOW_U16),
  ...addProduct(S1, LO, EXTEND_HIGH_U16),
  ...addProduct(S2, HI, EXTEND_LOW_U16),
  ...addProduct(S3, HI, EXTEND_HIGH_U16),
  ...[...get(VP), ...get(V.ROWLEN), ...ADD, ...set(VP)],
  ...[...get(VKP), ...i32(4), ...ADD, ...set(VKP)],
  ...[...get(VY), ...i32(1), ...ADD, ...set(VY)],
];
const shifted = (acc: number) => [...get(acc), ...i32(22), ...I32X4_SHR_S];
// 16 output bytes at a time; the last block of a row spills into the next row, which is written after.
const verticalColumn = [
  ...[...i32(1 << 21), ...I32X4_SPLAT, ...tee(S0), ...tee(S1), ...tee(S2), ...set(S3)],
  ...[...get(VROW), ...get(VC), ...ADD, ...set(VP)],
  ...[...get(V.WEIGHTS), ...get(VYY), ...get(V.KSTRIDE), ...MUL, ...ADD, ...set(VKP)],
  ...[...i32(0), ...set(VY)],
  ...whileLess(get(VY), get(VYMAX), verticalTap),
  ...[...get(VO), ...get(VC), ...ADD],
  ...[
    ...shifted(S0),
    ...shifted(S1),
    ...NARROW_I32_TO_I16,
    ...shifted(S2),
    ...shifted(S3),
    ...NARROW_I32_TO_I16,
  ],
  ...[...NARROW_I16_TO_U8, ...V128_STORE],
  ...[...get(VC), ...i32(16), ...ADD, ...set(VC)],
];
const verticalBoundsAt = [...get(V.BOUNDS), ...get(VYY), ...i32(3), ...SHL, ...ADD];
const verticalRow = [
  ...[...get(V.SRC), ...verticalBoundsAt, ...load(2, 0), ...get(V.ROWLEN), ...MUL, ...ADD, ...set(VROW)],
  ...[...verticalBoundsAt, ...load(2, 4), ...set(VYMAX)],
  ...[...get(V.OUT), ...get(VYY), ...get(V.ROWLEN), ...MUL, ...ADD, ...set(VO)],
  ...[...i32(0), ...set(VC)],
  ...whileLess(get(VC), get(V.ROWLEN), verticalColumn),
  ...[...get(VYY), ...i32(1), ...ADD, ...set(VYY)],
];
const verticalBody = [
  ...vec([
    [8, 0x7f],
    [7, 0x7b],
  ]),
  ...whileLess(get(VYY), get(V.ROWS), verticalRow),
  0x0b,
];

const params = (n: number) => [0x60, ...vec(Array.from({ length: n }, () => [0x7f])), 0];
const MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, vec([params(8), params(7)])),
  ...section(2, vec([[...str('e'), ...str('m'), 0x02, 0x00, 1]])),
  ...section(3, vec([[0], [1]])),
  ...section(
    7,
    vec([
      [...str('h'), 0x00, 0],
      [...str('v'), 0x00, 1],
    ]),
  ),
  ...section(
    10,
    vec([
      [...uleb(horizontalBody.length), ...horizontalBody],
      [...uleb(verticalBody.length), ...verticalBody],
    ]),
  ),
]);

type Kernel = (...args: number[]) => void;

let kernels: { memory: WebAssembly.Memory; h: Kernel; v: Kernel } | null | undefined;

function instantiate(): typeof kernels {
  try {
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(MODULE)) return null;
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(MODULE), { e: { m: memory } });
    return { memory, h: instance.exports.h as Kernel, v: instance.exports.v as Kernel };
  } catch {
    return null;
  }
}

let enabled = true;

/** Turns the WebAssembly path off or on (tests run the golden cases through both). */
export function setWasmResample(on: boolean): void {
  enabled = on;
}

/** True when the WebAssembly SIMD kernels will be used. */
export function wasmResampleAvailable(): boolean {
  if (kernels === undefined) kernels = instantiate();
  return enabled && kernels !== null;
}

const align16 = (n: number) => (n + 15) & ~15;
/** Rows per call: V8 first runs baseline code and swaps in optimised code between calls. */
const CHUNK_ROWS = 16;
/** Spare bytes after each buffer: the SIMD loads and stores reach up to 15 bytes past the data. */
const SLACK = 32;
/** Memory kept between calls: enough for a 12 MP photo; larger ones get a fresh instance each time. */
const KEEP_MEMORY_BYTES = 128 * 1024 * 1024;

/**
 * For each output sample and each pair of taps: [high(w0), high(w1), low(w0), low(w1)] as i16, with
 * w = high * 2048 + low, low in 0..2047. An odd last tap pairs with weight 0.
 */
function packPairs(weights: Int32Array, ksize: number, outWidth: number, out: Int16Array): void {
  const pairs = Math.ceil(ksize / 2);
  for (let xx = 0; xx < outWidth; xx++) {
    for (let j = 0; j < pairs; j++) {
      const a = 2 * j < ksize ? weights[xx * ksize + 2 * j]! : 0;
      const b = 2 * j + 1 < ksize ? weights[xx * ksize + 2 * j + 1]! : 0;
      const o = (xx * pairs + j) * 4;
      out[o] = a >> 11;
      out[o + 1] = b >> 11;
      out[o + 2] = a & 0x7ff;
      out[o + 3] = b & 0x7ff;
    }
  }
}

export interface PassCoefficients {
  readonly ksize: number;
  readonly bounds: Int32Array;
  readonly weights: Int32Array;
}

export interface ConvolvePlan {
  src: Uint8Array;
  srcWidth: number;
  /** Horizontal pass over source rows [offset, offset + rows), or none. */
  horizontal?: { coefficients: PassCoefficients; offset: number; rows: number; outWidth: number };
  /** Vertical pass over the (horizontally resampled) rows, bounds relative to them, or none. */
  vertical?: { coefficients: PassCoefficients; outHeight: number };
}

/** Both passes inside WebAssembly memory (the temporary image never leaves it); undefined if unavailable. */
export function convolveWasm(plan: ConvolvePlan): Uint8Array | undefined {
  if (!wasmResampleAvailable() || !kernels) return undefined;
  const { src, srcWidth, horizontal, vertical } = plan;
  const stride = srcWidth * 3;
  const first = horizontal ? horizontal.offset : 0;
  const inRows = horizontal ? horizontal.rows : src.length / stride;
  const inBytes = inRows * stride;
  const width = horizontal ? horizontal.outWidth : srcWidth;
  const rowLen = width * 3;
  const pairs = horizontal ? Math.ceil(horizontal.coefficients.ksize / 2) : 0;
  const packed = horizontal ? horizontal.outWidth * pairs * 4 : 0;
  const hBounds = align16(inBytes + SLACK);
  const hWeights = align16(hBounds + (horizontal ? horizontal.coefficients.bounds.byteLength : 0));
  const temp = align16(hWeights + packed * 2);
  const tempBytes = horizontal ? inRows * rowLen : 0;
  const vBounds = align16(temp + tempBytes + SLACK);
  const vWeights = align16(vBounds + (vertical ? vertical.coefficients.bounds.byteLength : 0));
  const out = align16(vWeights + (vertical ? vertical.coefficients.weights.byteLength : 0));
  const outBytes = vertical ? vertical.outHeight * rowLen : 0;
  const need = out + outBytes + SLACK;
  const { memory } = kernels;
  if (memory.buffer.byteLength < need) {
    try {
      memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    } catch {
      return undefined;
    }
  }
  const heap = new Uint8Array(memory.buffer);
  heap.set(src.subarray(first * stride, first * stride + inBytes), 0);
  heap.fill(0, inBytes, inBytes + SLACK);
  let result = 0;
  let resultBytes = inBytes;
  if (horizontal) {
    const c = horizontal.coefficients;
    new Int32Array(memory.buffer, hBounds, c.bounds.length).set(c.bounds);
    packPairs(c.weights, c.ksize, width, new Int16Array(memory.buffer, hWeights, packed));
    for (let y = 0; y < inRows; y += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, inRows - y);
      kernels.h(y * stride, stride, n, width, hBounds, hWeights, pairs * 8, temp + y * rowLen);
    }
    heap.fill(0, temp + tempBytes, temp + tempBytes + SLACK);
    result = temp;
    resultBytes = tempBytes;
  }
  if (vertical) {
    const c = vertical.coefficients;
    new Int32Array(memory.buffer, vBounds, c.bounds.length).set(c.bounds);
    new Int32Array(memory.buffer, vWeights, c.weights.length).set(c.weights);
    for (let y = 0; y < vertical.outHeight; y += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, vertical.outHeight - y);
      kernels.v(
        result,
        rowLen,
        n,
        vBounds + y * 8,
        vWeights + y * c.ksize * 4,
        c.ksize * 4,
        out + y * rowLen,
      );
    }
    result = out;
    resultBytes = outBytes;
  }
  const bytes = new Uint8Array(memory.buffer, result, resultBytes).slice();
  // WebAssembly memory cannot shrink: after a very large image, drop the instance so it can be freed.
  if (memory.buffer.byteLength > KEEP_MEMORY_BYTES) kernels = undefined;
  return bytes;
}
