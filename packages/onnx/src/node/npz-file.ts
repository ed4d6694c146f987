import { readFile } from 'node:fs/promises';
import { ERROR_CODES, PaliError } from '@pali/errors';
import { type NpyArray, parseNpz } from '../npy/npy.js';

/** Reads every array of an .npz file on disk. */
export async function readNpzFile(path: string): Promise<Map<string, NpyArray>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new PaliError(ERROR_CODES.NOT_FOUND, `Cannot read ${path}`, { hint: 'Check the path', cause: e });
  }
  return parseNpz(bytes, path);
}
