import { describe, expect, it } from 'vitest';
import { fixtureJson } from '../test/helpers/fixtures.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.js';

const golden = fixtureJson<{ f32_bits: number[]; f16_bits: number[]; bf16_bits: number[] }>('half.json');
const f32 = new Float32Array(Uint32Array.from(golden.f32_bits).buffer);

describe('half conversions (golden: numpy astype(float16), torch .to(bfloat16))', () => {
  it('rounds float32 to float16 bit-exactly like numpy', () => {
    const ours = Array.from(f32, (v) => f32ToF16(v));
    expect(ours).toEqual(golden.f16_bits);
  });

  it('rounds float32 to bfloat16 bit-exactly like torch', () => {
    const ours = Array.from(f32, (v) => f32ToBf16(v));
    expect(ours).toEqual(golden.bf16_bits);
  });

  it('widens float16 and bfloat16 to the float32 numpy/torch give', () => {
    // Widening is exact: every f16 value is a float32; compare against numpy's rounding of the golden f32.
    for (let i = 0; i < f32.length; i++) {
      const h = f16ToF32(golden.f16_bits[i]!);
      expect(f32ToF16(h)).toBe(golden.f16_bits[i]);
      const b = bf16ToF32(golden.bf16_bits[i]!);
      expect(f32ToBf16(b)).toBe(golden.bf16_bits[i]);
    }
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(Number.isNaN(f16ToF32(0x7e00))).toBe(true);
    expect(bf16ToF32(0x3f80)).toBe(1);
  });
});
