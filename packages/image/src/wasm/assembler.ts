/**
 * Just enough of a WebAssembly binary encoder to write the resampling kernels by hand: LEB128,
 * sections, and the core and SIMD opcodes they use (numbers from the WebAssembly 2.0 spec).
 */

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
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

export const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
export const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
export const str = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// Opcodes.
export const get = (i: number) => [0x20, ...uleb(i)];
export const set = (i: number) => [0x21, ...uleb(i)];
export const tee = (i: number) => [0x22, ...uleb(i)];
export const i32 = (n: number) => [0x41, ...sleb(n)];
export const ADD = [0x6a];
export const MUL = [0x6c];
export const SHL = [0x74];
export const SHR_U = [0x76];
export const GE_U = [0x4f];
export const load = (align: number, offset: number) => [0x28, align, ...uleb(offset)];
export const store8 = (offset: number) => [0x3a, 0, ...uleb(offset)];
export const store16 = (offset: number) => [0x3b, 0, ...uleb(offset)];
export const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
export const LOAD64_ZERO = simd(93, 0, 0);
export const LOAD32_SPLAT = (offset: number) => simd(9, 2, ...uleb(offset));
export const I32X4_DOT_I16X8 = simd(186);
export const I32X4_SHL = simd(171);
/** Bytes [R0 G0 B0 R1 G1 B1 ..] of two taps to i16 lanes [R0 R1 G0 G1 B0 B1 0 0] (16 = a zero byte). */
export const PAIR_SHUFFLE = simd(13, 0, 16, 3, 16, 1, 16, 4, 16, 2, 16, 5, 16, 16, 16, 16, 16);
export const I32X4_SPLAT = simd(17);
export const EXTRACT_LANE0 = simd(27, 0);
export const NARROW_I16_TO_U8 = simd(102);
export const V128_ZERO = simd(12, ...new Array(16).fill(0));
export const NARROW_I32_TO_I16 = simd(133);
export const I32X4_SHR_S = simd(172);
export const I32X4_ADD = simd(174);
export const I32X4_MUL = simd(181);
export const V128_LOAD = simd(0, 0, 0);
export const V128_STORE = simd(11, 0, 0);
export const EXTEND_LOW_U8 = simd(137);
export const EXTEND_HIGH_U8 = simd(138);
export const EXTEND_LOW_U16 = simd(169);
export const EXTEND_HIGH_U16 = simd(170);
/** while (a < b) { body } as block/loop. */
export const whileLess = (a: number[], b: number[], body: number[]) => [
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
