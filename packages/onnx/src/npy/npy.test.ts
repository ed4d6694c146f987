import { readFileSync } from 'node:fs';
import { isPaliError } from '@pali/errors';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { fixtureJson, fixturePath } from '../../test/helpers/fixtures.js';
import { readNpzFile } from '../node/npz-file.js';
import { npyToFloat32, parseNpy, parseNpz } from './npy.js';

type Golden = Record<string, { shape: number[]; dtype: string; values: number[] }>;
const golden = fixtureJson<Golden>('arrays.json');

describe('npz reader on files written by numpy.savez / savez_compressed', () => {
  for (const file of ['arrays.npz', 'arrays-compressed.npz']) {
    it(`reads every array of ${file} with numpy's shapes and values`, async () => {
      const arrays = await readNpzFile(fixturePath(file));
      expect([...arrays.keys()].sort()).toEqual(Object.keys(golden).sort());
      for (const [name, g] of Object.entries(golden)) {
        const a = arrays.get(name)!;
        expect(a.shape, name).toEqual(g.shape);
        const values = g.dtype.startsWith('float')
          ? Array.from(npyToFloat32(a))
          : Array.from(a.data as BigInt64Array, Number);
        // numpy's float64 view of float32/float16 values is exact, so equality is exact.
        expect(values, name).toEqual(g.values);
      }
    });
  }

  it('works from bytes (as in browsers)', () => {
    const arrays = parseNpz(new Uint8Array(readFileSync(fixturePath('arrays-compressed.npz'))));
    expect(arrays.get('half')!.dtype).toBe('float16');
  });

  it('gives typed errors for a bad zip, a bad npy and an unsupported dtype', async () => {
    expect(() => parseNpz(new Uint8Array([1, 2, 3, 4]))).toThrowError(
      expect.objectContaining({ code: 'CORRUPT_FILE' }),
    );
    const bad = zipSync({ 'x.npy': new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 200, 0]) });
    expect(() => parseNpz(bad)).toThrowError(expect.objectContaining({ code: 'CORRUPT_FILE' }));
    const header = "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }";
    const npy = new Uint8Array(10 + header.length + 8);
    npy.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]);
    npy.set(new TextEncoder().encode(header), 10);
    expect(() => parseNpy(npy)).toThrowError(expect.objectContaining({ code: 'UNSUPPORTED_DTYPE' }));
    await expect(readNpzFile('/nonexistent.npz')).rejects.toSatisfy((e) => isPaliError(e, 'NOT_FOUND'));
  });
});
