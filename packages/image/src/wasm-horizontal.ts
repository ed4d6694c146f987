/**
 * The horizontal pass (ImagingResampleHorizontal_8bpc for RGB) as a tiny WebAssembly SIMD function,
 * assembled here byte by byte so the package ships no binary and needs no build step. Each tap adds
 * [R, G, B, next R] × weight to an i32x4 accumulator: the same integer products and wrap-around sums
 * as Pillow's C loop, so the bytes are identical (the golden tests run both this and the JS path).
 * Used where WebAssembly SIMD exists (Node 20, current browsers); otherwise the JS loop runs.
 */

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const str = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// Opcodes.
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32 = (n: number) => [0x41, ...sleb(n)];
const ADD = [0x6a];
const MUL = [0x6c];
const SHL = [0x74];
const SHR_U = [0x76];
const GE_U = [0x4f];
const load = (align: number, offset: number) => [0x28, align, ...uleb(offset)];
const store8 = (offset: number) => [0x3a, 0, ...uleb(offset)];
const store16 = (offset: number) => [0x3b, 0, ...uleb(offset)];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const LOAD64_ZERO = simd(93, 0, 0);
const LOAD32_SPLAT = (offset: number) => simd(9, 2, ...uleb(offset));
const I32X4_DOT_I16X8 = simd(186);
const I32X4_SHL = simd(171);
/** Bytes [R0 G0 B0 R1 G1 B1 ..] of two taps to i16 lanes [R0 R1 G0 G1 B0 B1 0 0] (16 = a zero byte). */
const PAIR_SHUFFLE = simd(13, 0, 16, 3, 16, 1, 16, 4, 16, 2, 16, 5, 16, 16, 16, 16, 16);
const I32X4_SPLAT = simd(17);
const EXTRACT_LANE0 = simd(27, 0);
const NARROW_I16_TO_U8 = simd(102);
const V128_ZERO = simd(12, ...new Array(16).fill(0));
const NARROW_I32_TO_I16 = simd(133);
const I32X4_SHR_S = simd(172);
const I32X4_ADD = simd(174);
/** while (a < b) { body } as block/loop. */
const whileLess = (a: number[], b: number[], body: number[]) => [
  0x02,
  0x40,
  0x03,
  0x40,
  ...a,
  ...b,
  ...GE_U,
  0x0d,
  1,
  ...body,
  0x0c,
  0,
  0x0b,
  0x0b,
];

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

const body = [
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

const MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, vec([[0x60, ...vec(Array.from({ length: 8 }, () => [0x7f])), 0]])),
  ...section(2, vec([[...str('e'), ...str('m'), 0x02, 0x00, 1]])),
  ...section(3, vec([[0]])),
  ...section(7, vec([[...str('h'), 0x00, 0]])),
  ...section(10, vec([[...uleb(body.length), ...body]])),
]);

type HorizontalFn = (
  src: number,
  stride: number,
  rows: number,
  outW: number,
  bounds: number,
  weights: number,
  ksize: number,
  out: number,
) => void;

let kernel: { memory: WebAssembly.Memory; run: HorizontalFn } | null | undefined;

function instantiate(): typeof kernel {
  try {
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(MODULE)) return null;
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(MODULE), { e: { m: memory } });
    return { memory, run: instance.exports.h as HorizontalFn };
  } catch {
    return null;
  }
}

let enabled = true;

/** Turns the WebAssembly path off or on (tests run the golden cases through both). */
export function setWasmResample(on: boolean): void {
  enabled = on;
}

/** True when the WebAssembly SIMD kernel will be used. */
export function wasmResampleAvailable(): boolean {
  if (kernel === undefined) kernel = instantiate();
  return enabled && kernel !== null;
}

const align16 = (n: number) => (n + 15) & ~15;
const CHUNK_ROWS = 16;

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

/**
 * Rows [offset, offset + rows) of an RGB image through the horizontal pass, or undefined when the
 * kernel is not available.
 */
export function horizontalPassWasm(
  src: Uint8Array,
  srcWidth: number,
  offset: number,
  rows: number,
  outWidth: number,
  ksize: number,
  bounds: Int32Array,
  weights: Int32Array,
): Uint8Array | undefined {
  if (!wasmResampleAvailable() || !kernel) return undefined;
  const stride = srcWidth * 3;
  const srcBytes = rows * stride;
  // The 8-byte loads of the last pair read past the rows (weight 0 there): keep 16 spare bytes.
  const boundsAt = align16(srcBytes + 16);
  const pairs = Math.ceil(ksize / 2);
  const packedLength = outWidth * pairs * 4;
  const weightsAt = align16(boundsAt + bounds.byteLength);
  const outAt = align16(weightsAt + packedLength * 2);
  const outBytes = rows * outWidth * 3;
  const need = outAt + outBytes + 16;
  const { memory } = kernel;
  if (memory.buffer.byteLength < need) {
    const pages = Math.ceil((need - memory.buffer.byteLength) / 65536);
    try {
      memory.grow(pages);
    } catch {
      return undefined;
    }
  }
  const heap = new Uint8Array(memory.buffer);
  heap.set(src.subarray(offset * stride, offset * stride + srcBytes), 0);
  heap.fill(0, srcBytes, srcBytes + 16);
  new Int32Array(memory.buffer, boundsAt, bounds.length).set(bounds);
  packPairs(weights, ksize, outWidth, new Int16Array(memory.buffer, weightsAt, packedLength));
  // Calls of a few rows each: V8 first runs baseline code and swaps in optimised code between calls.
  for (let y = 0; y < rows; y += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, rows - y);
    kernel.run(y * stride, stride, n, outWidth, boundsAt, weightsAt, pairs * 8, outAt + y * outWidth * 3);
  }
  return new Uint8Array(memory.buffer, outAt, outBytes).slice();
}
