import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPaliError } from '@pali/errors';
import { describe, expect, it } from 'vitest';
import { fixtureJson, fixturePath } from '../../test/helpers/fixtures.js';
import { blobSource, bytesSource } from '../byte-source.js';
import { FileByteSource } from '../node/file-source.js';
import { openSafetensors } from '../node/safetensors-files.js';
import { SafetensorsFile } from './reader.js';
import { ShardedSafetensors } from './sharded.js';
import { encodeSafetensors } from './writer.js';

type Golden = Record<string, { shape: number[]; values: number[] }>;

describe('safetensors reader on files written by the safetensors library (torch)', () => {
  const golden = fixtureJson<Golden>('mixed.json');

  it('reads every dtype with its shape, metadata and values', async () => {
    const st = await openSafetensors(fixturePath('mixed.safetensors'));
    try {
      expect((st as SafetensorsFile).metadata).toEqual({ format: 'pt', note: 'pali' });
      expect(st.names().sort()).toEqual(Object.keys(golden).sort());
      for (const [name, g] of Object.entries(golden)) {
        const t = await st.readTensor(name);
        expect(t.shape, name).toEqual(g.shape);
        if (['f32', 'f16', 'bf16', 'empty'].includes(name)) {
          expect(Array.from(await st.readFloat32(name)), name).toEqual(g.values);
        } else {
          expect(Array.from(t.data as ArrayLike<number | bigint>, Number), name).toEqual(g.values);
        }
      }
      expect(st.info('bf16').fileDType).toBe('BF16');
      expect(st.info('bool').dtype).toBe('bool');
      await expect(st.readTensor('missing')).rejects.toSatisfy((e) => isPaliError(e, 'NOT_FOUND'));
      await expect(st.readFloat32('i64')).rejects.toSatisfy((e) => isPaliError(e, 'UNSUPPORTED_DTYPE'));
    } finally {
      await st.close();
    }
  });

  it('reads only the requested tensor bytes, at their offset', async () => {
    const src = await FileByteSource.open(fixturePath('mixed.safetensors'));
    const reads: [number, number][] = [];
    const spy = {
      size: src.size,
      name: src.name,
      read: (o: number, l: number) => {
        reads.push([o, l]);
        return src.read(o, l);
      },
    };
    const st = await SafetensorsFile.open(spy);
    reads.length = 0;
    await st.readTensor('u8');
    expect(reads).toEqual([[st.info('u8').offset, 3]]);
    await src.close();
  });

  it('reads a sharded checkpoint through model.safetensors.index.json (folder or index path)', async () => {
    const want = fixtureJson<Golden>('sharded.json');
    for (const p of [fixturePath('sharded'), join(fixturePath('sharded'), 'model.safetensors.index.json')]) {
      const st = await openSafetensors(p);
      expect(st.names().sort()).toEqual(Object.keys(want).sort());
      for (const [name, g] of Object.entries(want)) {
        expect(st.info(name).shape).toEqual(g.shape);
        expect(Array.from(await st.readFloat32(name))).toEqual(g.values);
      }
      await st.close();
    }
  });

  it('round-trips its own writer', async () => {
    const bytes = encodeSafetensors(
      [
        { name: 'a', dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
        { name: 'b', dtype: 'int64', shape: [1], data: BigInt64Array.of(-3n) },
      ],
      { k: 'v' },
    );
    expect(new DataView(bytes.buffer).getUint32(0, true) % 8).toBe(0);
    const st = await SafetensorsFile.open(bytesSource(bytes));
    expect(st.metadata).toEqual({ k: 'v' });
    expect(Array.from(await st.readFloat32('a'))).toEqual([1, 2, 3, 4]);
    expect((await st.readTensor('b')).data).toEqual(BigInt64Array.of(-3n));
  });

  it('reports a missing file and a wrong shard index as typed errors', async () => {
    await expect(openSafetensors('/nonexistent/x.safetensors')).rejects.toSatisfy((e) =>
      isPaliError(e, 'NOT_FOUND'),
    );
  });

  it('reads from a Blob (the browser path) like from a file', async () => {
    const bytes = new Uint8Array(readFileSync(fixturePath('mixed.safetensors')));
    const st = await SafetensorsFile.open(blobSource(new Blob([bytes]), 'mixed.safetensors'));
    expect(Array.from(await st.readFloat32('f16'))).toEqual(golden.f16!.values);
  });

  it('rejects an index that names a missing tensor or a path outside the folder', async () => {
    const shard = encodeSafetensors([{ name: 'a', dtype: 'float32', shape: [1], data: Float32Array.of(1) }]);
    const open = async () => bytesSource(shard, 's.safetensors');
    const good = await ShardedSafetensors.open(
      'index.json',
      JSON.stringify({ weight_map: { a: 's.safetensors' } }),
      open,
    );
    expect(Array.from(await good.readFloat32('a'))).toEqual([1]);
    const cases: [string, RegExp][] = [
      [
        JSON.stringify({ weight_map: { b: 's.safetensors' } }),
        /puts "b" in s.safetensors, which does not have it/,
      ],
      [JSON.stringify({ weight_map: { a: '../s.safetensors' } }), /invalid shard name/],
      [JSON.stringify({ nothing: 1 }), /no weight_map/],
      ['{', /is not JSON/],
    ];
    for (const [text, message] of cases) {
      const e = await ShardedSafetensors.open('index.json', text, open).catch((x) => x);
      expect(isPaliError(e, 'CORRUPT_FILE'), text).toBe(true);
      expect((e as Error).message).toMatch(message);
    }
  });
});
