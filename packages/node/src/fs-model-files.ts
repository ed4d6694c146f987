import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelFiles } from '@pali/core';

/** A model folder on disk. */
export function fsModelFiles(root: string): ModelFiles {
  return {
    location: root,
    exists: (path) =>
      stat(join(root, path)).then(
        (s) => s.isFile(),
        () => false,
      ),
    readText: (path) => readFile(join(root, path), 'utf8'),
    readBytes: async (path) => new Uint8Array(await readFile(join(root, path))),
    async openRange(path) {
      const handle = await open(join(root, path), 'r');
      return {
        async read(offset, length) {
          const out = new Uint8Array(length);
          const { bytesRead } = await handle.read(out, 0, length, offset);
          if (bytesRead !== length)
            throw new RangeError(`${path}: read ${bytesRead} of ${length} bytes at ${offset}`);
          return out;
        },
        close: () => handle.close(),
      };
    },
  };
}
