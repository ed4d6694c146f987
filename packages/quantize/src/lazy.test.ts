import type { TensorBytes } from '@pali/onnx';
import { describe, expect, it } from 'vitest';
import { sharedLazy, transpose2d } from './lazy.js';

const first = async (f: () => Promise<TensorBytes>) => ((await f()) as Uint8Array)[0];

describe('sharedLazy', () => {
  it('computes once for all parts, drops the result when every part was taken, recomputes after', async () => {
    let runs = 0;
    const keys: ('a' | 'b' | 'c')[] = ['a', 'b'];
    const part = sharedLazy(keys, async () => {
      runs++;
      return { a: Uint8Array.of(runs), b: Uint8Array.of(10 + runs), c: Uint8Array.of(20 + runs) };
    });
    const a = part('a');
    const b = part('b');
    expect(runs).toBe(0);
    expect(await first(a)).toBe(1);
    expect(await first(b)).toBe(11);
    expect(runs).toBe(1);
    // A second write of the graph starts over.
    expect(await first(b)).toBe(12);
    expect(await first(a)).toBe(2);
    expect(runs).toBe(2);
    // A part added before the next write is waited for too.
    keys.push('c');
    await a();
    await b();
    expect(await first(part('c'))).toBe(23);
    expect(runs).toBe(3);
  });

  it('transpose2d', () => {
    const src = Float32Array.from({ length: 70 * 45 }, (_, i) => i);
    const t = transpose2d(src, 70, 45);
    for (let r = 0; r < 70; r++) for (let c = 0; c < 45; c++) expect(t[c * 70 + r]).toBe(src[r * 45 + c]);
  });
});
