import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { SafetensorsFile, type TensorReader } from '../safetensors/reader.js';
import { SAFETENSORS_INDEX, ShardedSafetensors } from '../safetensors/sharded.js';
import { encodeSafetensors, type SafetensorsInput } from '../safetensors/writer.js';
import { FileByteSource } from './file-source.js';

/**
 * Opens a checkpoint: a .safetensors file, a model.safetensors.index.json, or a folder holding either
 * (the index wins). Only headers are read here.
 */
export async function openSafetensors(path: string): Promise<TensorReader> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `No checkpoint at ${path}`, {
      hint: 'Check the path',
      cause: e,
    });
  }
  if (st.isDirectory()) {
    const index = join(path, SAFETENSORS_INDEX);
    if (await exists(index)) return openIndex(index);
    const single = join(path, 'model.safetensors');
    if (await exists(single)) return SafetensorsFile.open(await FileByteSource.open(single));
    throw new PaliError(
      ERROR_CODES.NOT_FOUND,
      `${path} has neither ${SAFETENSORS_INDEX} nor model.safetensors`,
      {
        hint: 'Point at a Hugging Face checkpoint folder',
      },
    );
  }
  if (basename(path).endsWith('.index.json')) return openIndex(path);
  return SafetensorsFile.open(await FileByteSource.open(path));
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function openIndex(indexPath: string): Promise<ShardedSafetensors> {
  const dir = dirname(indexPath);
  return ShardedSafetensors.open(indexPath, await readFile(indexPath, 'utf8'), (f) =>
    FileByteSource.open(join(dir, f)),
  );
}

/** Writes tensors as a safetensors file (fixtures, tests). */
export async function writeSafetensorsFile(
  path: string,
  tensors: readonly SafetensorsInput[],
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFile(path, encodeSafetensors(tensors, metadata));
}
