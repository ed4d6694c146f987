import { isPaliError } from '@pali/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ByteSource, bytesSource } from '../byte-source.js';
import { SafetensorsFile } from './reader.js';
import { encodeSafetensors } from './writer.js';

/** A source that records how many bytes the reader asked for (the reader allocates what it reads). */
function recording(bytes: Uint8Array): ByteSource & { requested: number; largest: number } {
  const inner = bytesSource(bytes, 'hostile.safetensors');
  const src = {
    size: inner.size,
    name: inner.name,
    requested: 0,
    largest: 0,
    read(offset: number, length: number) {
      src.requested += length;
      src.largest = Math.max(src.largest, length);
      return inner.read(offset, length);
    },
  };
  return src;
}

/** Opens and reads every tensor; returns the error (if any). Reads of one tensor never exceed the file. */
async function openAndReadAll(bytes: Uint8Array): Promise<unknown> {
  const src = recording(bytes);
  try {
    const st = await SafetensorsFile.open(src);
    for (const n of st.names()) {
      const t = await st.readTensor(n);
      expect(t.data.byteLength).toBe(st.info(n).byteLength);
    }
    return undefined;
  } catch (e) {
    return e;
  } finally {
    expect(src.largest).toBeLessThanOrEqual(bytes.byteLength);
  }
}

function withHeader(header: unknown, dataBytes: number, rawLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + dataBytes);
  new DataView(out.buffer).setBigUint64(0, rawLength ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

const validFile = fc
  .array(
    fc.record({
      dtype: fc.constantFrom('float32' as const, 'float16' as const, 'int64' as const, 'uint8' as const),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    }),
    { maxLength: 5 },
  )
  .map((specs) =>
    encodeSafetensors(
      specs.map((s, i) => {
        const n = s.shape.reduce((a, b) => a * b, 1);
        const bytes = n * { float32: 4, float16: 2, int64: 8, uint8: 1 }[s.dtype];
        return { name: `t${i}`, dtype: s.dtype, shape: s.shape, data: new Uint8Array(bytes).fill(i + 1) };
      }),
    ),
  );

const dim = fc.oneof(
  fc.integer({ min: 0, max: 8 }),
  fc.integer({ min: -3, max: -1 }),
  fc.constantFrom(2 ** 31, 2 ** 53, 1e300, 1.5, Number.MAX_SAFE_INTEGER),
);
const offset = fc.oneof(fc.integer({ min: 0, max: 80 }), fc.constantFrom(-1, 2 ** 40, 1.5, 2 ** 63));
const hostileEntry = fc.record({
  dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'I64', 'U8', 'BOOL'), fc.string({ maxLength: 4 })),
  shape: fc.oneof(fc.array(dim, { maxLength: 4 }), fc.constant('x' as unknown as number[])),
  data_offsets: fc.oneof(fc.tuple(offset, offset), fc.array(offset, { maxLength: 3 })),
});
const hostileHeader = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 6 }), fc.constant('__metadata__')),
  hostileEntry,
  {
    maxKeys: 4,
  },
);

describe('safetensors reader against hostile files (property tests)', () => {
  it('gives a typed error or a consistent result for random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), async (bytes) => {
        const e = await openAndReadAll(bytes);
        expect(e === undefined || isPaliError(e)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects every truncation of a valid file with CORRUPT_FILE', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, fc.nat(), async (file, cut) => {
        expect(await openAndReadAll(file)).toBeUndefined();
        const len = cut % file.byteLength;
        const e = await openAndReadAll(file.subarray(0, len));
        // A cut inside the data of the last tensor(s) is detected from the header's spans.
        expect(isPaliError(e, 'CORRUPT_FILE')).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('survives random corruption of a valid file', async () => {
    await fc.assert(
      fc.asyncProperty(
        validFile,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        async (file, edits) => {
          const b = file.slice();
          for (const [i, v] of edits) b[i % b.length] = v;
          const e = await openAndReadAll(b);
          expect(e === undefined || isPaliError(e)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives typed errors for hostile headers: any length prefix, bad dtypes, shapes and offsets', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileHeader,
        fc.integer({ min: 0, max: 96 }),
        fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { nil: undefined }),
        async (header, dataBytes, rawLength) => {
          const e = await openAndReadAll(withHeader(header, dataBytes, rawLength));
          expect(e === undefined || isPaliError(e)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('names the problem: huge header length, past the end, overlap, unknown dtype, size mismatch', async () => {
    const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
    const cases: [string, Uint8Array, string, RegExp][] = [
      ['huge header length', withHeader({}, 0, 2n ** 64n - 1n), 'CORRUPT_FILE', /header length/],
      [
        'header length past the end',
        withHeader({ a: ok }, 8, 1000n),
        'CORRUPT_FILE',
        /exceeds the file size/,
      ],
      [
        'offsets past the end',
        withHeader({ a: { ...ok, shape: [4], data_offsets: [0, 16] } }, 8),
        'CORRUPT_FILE',
        /past the data/,
      ],
      [
        'overlapping spans',
        withHeader({ a: ok, b: { ...ok, data_offsets: [4, 12] } }, 16),
        'CORRUPT_FILE',
        /overlap/,
      ],
      ['unknown dtype', withHeader({ a: { ...ok, dtype: 'F8_E4M3' } }, 8), 'UNSUPPORTED_DTYPE', /F8_E4M3/],
      ['shape/size mismatch', withHeader({ a: { ...ok, shape: [3] } }, 8), 'CORRUPT_FILE', /spans 8 bytes/],
      ['not JSON', withHeader('{"a": [', 8), 'CORRUPT_FILE', /not JSON/],
      ['too small', new Uint8Array(5), 'CORRUPT_FILE', /8-byte prefix/],
      ['negative dim', withHeader({ a: { ...ok, shape: [-2] } }, 8), 'CORRUPT_FILE', /shape/],
    ];
    for (const [label, bytes, code, message] of cases) {
      const e = await openAndReadAll(bytes);
      expect(isPaliError(e, code as 'CORRUPT_FILE'), label).toBe(true);
      expect((e as Error).message, label).toMatch(message);
    }
  });
});
