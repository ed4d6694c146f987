import { ERROR_CODES, PaliError } from '@pali/errors';
import type { ByteSource } from '../byte-source.js';
import type { SafetensorsTensorInfo } from './header.js';
import { type LoadedTensor, notFound, SafetensorsFile, type TensorReader } from './reader.js';

export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

/** Parses model.safetensors.index.json: tensor name → shard file name (plain names only). */
export function parseSafetensorsIndex(file: string, text: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${file} is not JSON (${(e as Error).message})`, {
      hint: 'Download the checkpoint index again',
    });
  }
  const map = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${file} has no weight_map object`, {
      hint: 'Download the checkpoint index again',
    });
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== 'string' || v === '' || v.includes('/') || v.includes('\\') || v === '.' || v === '..')
      throw new PaliError(ERROR_CODES.CORRUPT_FILE, `${file}: tensor "${k}" maps to an invalid shard name`, {
        hint: 'Shard names must be plain file names in the checkpoint folder',
      });
    out.set(k, v);
  }
  return out;
}

/** A checkpoint split over several safetensors files, read through its index. */
export class ShardedSafetensors implements TensorReader {
  private constructor(
    private readonly shards: ReadonlyMap<string, SafetensorsFile>,
    private readonly where: ReadonlyMap<string, string>,
  ) {}

  /** Opens every shard named in the index (headers only) and checks that each listed tensor is there. */
  static async open(
    indexName: string,
    indexText: string,
    openShard: (fileName: string) => Promise<ByteSource>,
  ): Promise<ShardedSafetensors> {
    const where = parseSafetensorsIndex(indexName, indexText);
    const shards = new Map<string, SafetensorsFile>();
    try {
      for (const f of new Set(where.values())) shards.set(f, await SafetensorsFile.open(await openShard(f)));
      for (const [name, f] of where)
        if (!shards.get(f)!.has(name))
          throw new PaliError(
            ERROR_CODES.CORRUPT_FILE,
            `${indexName} puts "${name}" in ${f}, which does not have it`,
            {
              hint: 'The index and the shards come from different checkpoints; download them again',
            },
          );
    } catch (e) {
      await Promise.all([...shards.values()].map((s) => s.close()));
      throw e;
    }
    return new ShardedSafetensors(shards, where);
  }

  private shard(name: string): SafetensorsFile {
    const f = this.where.get(name);
    if (f === undefined) throw notFound('the sharded checkpoint', name);
    return this.shards.get(f)!;
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    return this.shard(name).info(name);
  }

  readBytes(name: string): Promise<Uint8Array> {
    return this.shard(name).readBytes(name);
  }

  readTensor(name: string): Promise<LoadedTensor> {
    return this.shard(name).readTensor(name);
  }

  readFloat32(name: string): Promise<Float32Array> {
    return this.shard(name).readFloat32(name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.shards.values()].map((s) => s.close()));
  }
}
