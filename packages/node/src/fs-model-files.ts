import { readFile, stat } from 'node:fs/promises';
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
  };
}
