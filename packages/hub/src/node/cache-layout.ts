import { randomBytes } from 'node:crypto';
import { copyFile, lstat, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import type { HubEnv } from '../config.js';

/**
 * The cache layout huggingface_hub (Python) writes and reads, so either side reuses the other's files:
 *   {cache}/models--{org}--{name}/blobs/{etag}                     file contents, named by etag
 *   {cache}/models--{org}--{name}/snapshots/{commit}/{path}        relative symlink to the blob
 *   {cache}/models--{org}--{name}/refs/{revision}                  the commit a branch/tag pointed to
 *   {cache}/models--{org}--{name}/.no_exist/{commit}/{path}        empty: the file is not in that commit
 */

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

/** `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else ~/.cache/huggingface/hub (Python's constants.py). */
export function resolveCacheDir(options: { cacheDir?: string; env?: HubEnv } = {}): string {
  if (options.cacheDir) return resolve(expandHome(options.cacheDir));
  const env = options.env ?? process.env;
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (explicit) return resolve(expandHome(explicit));
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return resolve(expandHome(home), 'hub');
}

/** `org/name` → `models--org--name` (Python's repo_folder_name). */
export function repoFolderName(repo: string): string {
  return ['models', ...repo.split('/')].join('--');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path); // follows the symlink: a dangling pointer is not a cached file
    return true;
  } catch {
    return false;
  }
}

// The Cache Directory Tagging Standard signature, so backup tools skip the cache (Python writes it too).
const CACHEDIR_TAG =
  'Signature: 8a477f597d28d172789f06886806bc55\n' +
  '# This file is a cache directory tag created by huggingface_hub.\n' +
  '# For information about cache directory tags, see:\n' +
  '#\thttps://bford.info/cachedir/\n';

/** Writes {cache}/CACHEDIR.TAG once, best effort, with the text Python's huggingface_hub writes. */
export async function writeCacheDirTag(cacheDir: string): Promise<void> {
  try {
    await writeFile(join(cacheDir, 'CACHEDIR.TAG'), CACHEDIR_TAG, { flag: 'wx' });
  } catch {
    // exists already, or a read-only cache: neither matters
  }
}

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** Paths and small atomic writes for one repo's folder in the cache. */
export class RepoCache {
  readonly root: string;

  constructor(cacheDir: string, repo: string) {
    this.root = join(cacheDir, repoFolderName(repo));
  }

  blobPath(etag: string): string {
    return join(this.root, 'blobs', etag);
  }

  snapshotDir(commit: string): string {
    return join(this.root, 'snapshots', commit);
  }

  pointerPath(commit: string, path: string): string {
    return join(this.snapshotDir(commit), ...path.split('/'));
  }

  noExistPath(commit: string, path: string): string {
    return join(this.root, '.no_exist', commit, ...path.split('/'));
  }

  refPath(revision: string): string {
    return join(this.root, 'refs', ...revision.split('/'));
  }

  hasPointer(commit: string, path: string): Promise<boolean> {
    return exists(this.pointerPath(commit, path));
  }

  hasBlob(etag: string): Promise<boolean> {
    return exists(this.blobPath(etag));
  }

  hasNoExist(commit: string, path: string): Promise<boolean> {
    return exists(this.noExistPath(commit, path));
  }

  async readRef(revision: string): Promise<string | undefined> {
    try {
      const text = (await readFile(this.refPath(revision), 'utf8')).trim();
      return /^[0-9a-f]{40}$/.test(text) ? text : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes refs/{revision} through a temp file and a rename, and only when it changed (Python does the same). */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    if ((await this.readRef(revision)) === commit) return;
    const path = this.refPath(revision);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${uniqueSuffix()}.tmp`;
    await writeFile(tmp, commit); // no newline: Python writes the bare hash
    await rename(tmp, path);
  }

  /** Records that `path` is not in `commit`, so an optional file is not asked for again. */
  async writeNoExist(commit: string, path: string): Promise<void> {
    const p = this.noExistPath(commit, path);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, '');
  }

  /**
   * Points snapshots/{commit}/{path} at the blob with a relative symlink (so the cache can move), as
   * Python's _create_symlink; where symlinks are not allowed (Windows without developer mode) the
   * blob is copied instead.
   */
  async linkPointer(commit: string, path: string, etag: string): Promise<string> {
    const pointer = this.pointerPath(commit, path);
    const blob = this.blobPath(etag);
    await mkdir(dirname(pointer), { recursive: true });
    await rm(pointer, { force: true });
    try {
      await symlink(relative(dirname(pointer), blob), pointer);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        const st = await lstat(pointer);
        if (st.isSymbolicLink()) return pointer; // another process linked it between rm and symlink
      }
      if (code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP') throw error;
      const tmp = `${pointer}.${uniqueSuffix()}.tmp`;
      await copyFile(blob, tmp);
      await rename(tmp, pointer);
    }
    return pointer;
  }
}
