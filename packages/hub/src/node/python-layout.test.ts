import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CacheEntry, listRepoCache } from '../testing/cache-listing.js';
import { FakeHub } from '../testing/fake-hub.js';
import { TINY_MODEL_FILES } from '../testing/repo-fixture.js';
import { downloadModelFiles } from './download-to-cache.js';

// Written by Python's huggingface_hub (hf_hub_download from the fake Hub): scripts/python-interop.sh.
const FIXTURE = fileURLToPath(
  new URL('../../../../fixtures/hf-cache-layout/python-tree.json', import.meta.url),
);
interface Fixture {
  repo: string;
  files: (keyof typeof TINY_MODEL_FILES)[];
  tree: CacheEntry[];
}

const bytesOf = (p: keyof typeof TINY_MODEL_FILES): Uint8Array => {
  const v = TINY_MODEL_FILES[p];
  return typeof v === 'string' ? new TextEncoder().encode(v) : v;
};

// Read at import: a missing fixture fails this file instead of skipping its tests.
const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
let hub: FakeHub;
let dir: string;

beforeAll(async () => {
  hub = new FakeHub();
  await hub.start();
  hub.addRepo(fixture.repo, { ...TINY_MODEL_FILES });
  dir = await mkdtemp(join(tmpdir(), 'pali-hub-layout-'));
});
afterAll(async () => {
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

describe('cache layout shared with Python huggingface_hub', () => {
  it('writes the same tree as Python: blob names, relative symlink targets, refs', async () => {
    const cacheDir = join(dir, 'node');
    await downloadModelFiles(fixture.repo, fixture.files, { cacheDir, endpoint: hub.url, env: {} });
    const tree = await listRepoCache(join(cacheDir, 'models--onnx-community--tiny-pali'));
    expect(tree).toEqual(fixture.tree);
  });

  it('reads a tree laid out as Python wrote it, offline and byte-identical', async () => {
    const cacheDir = join(dir, 'python');
    const root = join(cacheDir, 'models--onnx-community--tiny-pali');
    const byEtag = new Map<string, Uint8Array>();
    for (const p of fixture.files) {
      const b = bytesOf(p);
      byEtag.set(createHash('sha256').update(b).digest('hex'), b);
      byEtag.set(createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex'), b);
    }
    for (const e of fixture.tree) {
      const abs = join(root, ...e.path.split('/'));
      await mkdir(dirname(abs), { recursive: true });
      if (e.type === 'symlink') await symlink(e.target!, abs);
      else if (e.text !== undefined) await writeFile(abs, e.text);
      else await writeFile(abs, byEtag.get(e.path.replace('blobs/', ''))!);
    }
    const noNetwork = (() => {
      throw new Error('network used');
    }) as unknown as typeof fetch;
    const got = await downloadModelFiles(fixture.repo, fixture.files, {
      cacheDir,
      env: { HF_HUB_OFFLINE: '1' },
      fetch: noNetwork,
    });
    for (const p of fixture.files) {
      expect(new Uint8Array(await readFile(got.files[p]!))).toEqual(bytesOf(p));
    }
  });
});
