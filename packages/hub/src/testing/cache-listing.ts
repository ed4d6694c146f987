import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** One entry of a repo folder in the HF cache, in a form both Python and Node caches can be compared by. */
export interface CacheEntry {
  /** Path relative to `models--{org}--{name}/`, with forward slashes. */
  path: string;
  type: 'file' | 'symlink';
  /** Symlink target as stored (relative). */
  target?: string;
  /** Byte size of a file. */
  size?: number;
  /** Text of a refs/ file. */
  text?: string;
}

/** Lists a repo folder (blobs, snapshots, refs, .no_exist), sorted; temp files are listed too, so leftovers show. */
export async function listRepoCache(repoFolder: string): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  async function walk(rel: string): Promise<void> {
    for (const name of (await readdir(join(repoFolder, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = join(repoFolder, r);
      const st = await lstat(abs);
      if (st.isDirectory()) await walk(r);
      else if (st.isSymbolicLink()) out.push({ path: r, type: 'symlink', target: await readlink(abs) });
      else if (r.startsWith('refs/')) out.push({ path: r, type: 'file', text: await readFile(abs, 'utf8') });
      else out.push({ path: r, type: 'file', size: st.size });
    }
  }
  await walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}
