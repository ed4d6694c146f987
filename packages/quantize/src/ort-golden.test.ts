import { describe, expect, it } from 'vitest';
import { bytes, fixture, floats, weightOf } from '../test/helpers/fixture.js';
import { quantizeBlockwise } from './blockwise.js';
import { quantizeNf4 } from './nf4.js';
import { quantizePerChannel } from './per-channel.js';

const hex = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe(`bit for bit with onnxruntime ${fixture.onnxruntime}'s Python quantizers`, () => {
  it.each(fixture.nbits.map((c) => [c.name, c] as const))('MatMulNBits %s', (_, c) => {
    const q = quantizeBlockwise(weightOf(c.weight), [c.N, c.K], {
      bits: c.bits,
      blockSize: c.blockSize,
      symmetric: c.symmetric,
      scaleDtype: c.scaleDtype,
    });
    expect(hex(q.scales)).toBe(hex(floats(c.scales)));
    expect(hex(q.packed)).toBe(c.packed);
    if (c.zeroPoints === null) expect(q.zeroPoints).toBeUndefined();
    else expect(hex(q.zeroPoints!)).toBe(c.zeroPoints);
  });

  it.each(fixture.nbitsOddK.map((c) => [c.name, c] as const))(
    'MatMulNBits %s: odd K, equal except the unused nibble after K',
    (_, c) => {
      const q = quantizeBlockwise(weightOf(c.weight), [c.N, c.K], {
        bits: c.bits,
        blockSize: c.blockSize,
        symmetric: c.symmetric,
      });
      const want = bytes(c.packed);
      const rowBytes = q.kBlocks * q.blobSize;
      // The padding nibble right after element K-1 (ORT leaves a stale value there; the op ignores it).
      const last = (c.K - 1 - (q.kBlocks - 1) * c.blockSize) >> 1;
      const mask = (i: number) => (i % rowBytes === (q.kBlocks - 1) * q.blobSize + last ? 0x0f : 0xff);
      expect(Array.from(q.packed, (v, i) => v & mask(i))).toEqual(Array.from(want, (v, i) => v & mask(i)));
      expect(hex(q.scales)).toBe(hex(floats(c.scales)));
      if (c.zeroPoints !== null) expect(hex(q.zeroPoints!)).toBe(c.zeroPoints);
    },
  );

  it.each(fixture.perChannel.map((c) => [c.name, c] as const))('DynamicQuantizeMatMul %s', (_, c) => {
    const q = quantizePerChannel(weightOf(c.weight), [c.N, c.K], { symmetric: c.symmetric });
    expect(hex(q.scales)).toBe(hex(floats(c.scales)));
    expect(hex(q.b)).toBe(c.b);
    if (c.zeroPoints === null) expect(q.zeroPoints).toBeUndefined();
    else expect(Array.from(q.zeroPoints!)).toEqual(c.zeroPoints);
  });

  it.each(fixture.nf4.map((c) => [c.name, c] as const))('MatMulBnb4 %s', (_, c) => {
    const q = quantizeNf4(weightOf(c.weight), [c.N, c.K], { blockSize: c.blockSize });
    expect(hex(q.absmax)).toBe(hex(floats(c.absmax)));
    expect(hex(q.packed)).toBe(c.packed);
  });
});
