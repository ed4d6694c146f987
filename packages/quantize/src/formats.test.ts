import { isPaliError } from '@pali/errors';
import { describe, expect, it } from 'vitest';
import { embeddingFormat, linearFormat, withBlockSize } from './formats.js';

describe('withBlockSize', () => {
  it('changes the block size of blockwise formats only, and keeps the default without one', () => {
    expect(withBlockSize(linearFormat('q4'), 128)).toEqual({ ...linearFormat('q4'), blockSize: 128 });
    expect(withBlockSize(embeddingFormat('q8'), 64)).toMatchObject({
      kind: 'blockwise',
      bits: 8,
      blockSize: 64,
    });
    expect(withBlockSize(linearFormat('q8'), 128)).toEqual(linearFormat('q8'));
    expect(withBlockSize(linearFormat('fp32'), 128)).toEqual(linearFormat('fp32'));
    expect(withBlockSize(linearFormat('q4'), undefined)).toEqual(linearFormat('q4'));
  });

  it('refuses a block size that is not a power of two ≥ 16 with a typed error', () => {
    for (const bad of [48, 8, 0, 33.5]) {
      const error = (() => {
        try {
          withBlockSize(linearFormat('q4'), bad);
        } catch (e) {
          return e;
        }
      })();
      expect(isPaliError(error) && error.code).toBe('INVALID_ARGUMENT');
    }
  });
});
