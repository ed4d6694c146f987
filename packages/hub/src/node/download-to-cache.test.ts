import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPaliError, type PaliError } from '@pali/errors';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HubProgressEvent } from '../config.js';
import { FakeHub } from '../testing/fake-hub.js';
import { TINY_MODEL_FILES, TINY_MODEL_PATHS } from '../testing/repo-fixture.js';
import { downloadModelFiles, findCachedFile } from './download-to-cache.js';

const REPO = 'onnx-community/tiny-pali';
const GATED = 'google/tiny-pali-gated';
const DATA = 'onnx/decoder_model_merged_q4.onnx_data';
const bytesOf = (p: keyof typeof TINY_MODEL_FILES): Uint8Array => {
  const v = TINY_MODEL_FILES[p];
  return typeof v === 'string' ? new TextEncoder().encode(v) : v;
};
// Independent of the fake's helpers: what git and git-lfs name these contents.
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Uint8Array) =>
  createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');

let hub: FakeHub;
let commit: string;
let cacheDir: string;
const opts = () => ({ cacheDir, endpoint: hub.url, env: {}, retryDelayMs: 10 });

async function rejection(p: Promise<unknown>): Promise<PaliError> {
  try {
    await p;
  } catch (error) {
    if (isPaliError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  hub = new FakeHub();
  await hub.start();
  commit = hub.addRepo(REPO, { ...TINY_MODEL_FILES });
  hub.addRepo(
    GATED,
    { 'config.json': '{}', 'model.onnx': TINY_MODEL_FILES['onnx/decoder_model_merged_q4.onnx'] },
    {
      gated: true,
      acceptedTokens: ['hf_accepted'],
    },
  );
  hub.addToken('hf_not_accepted');
});
afterAll(() => hub.close());
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'pali-hub-'));
  hub.clearLog();
  hub.setBodyPace(64 * 1024, 0);
});
afterEach(() => rm(cacheDir, { recursive: true, force: true }));

const repoRoot = () => join(cacheDir, 'models--onnx-community--tiny-pali');

describe('downloadModelFiles (Node, HF cache layout)', () => {
  it('downloads into blobs/{etag} with relative snapshot symlinks and refs/main', async () => {
    const got = await downloadModelFiles(REPO, TINY_MODEL_PATHS, opts());
    expect(got.commit).toBe(commit);
    expect(got.snapshotDir).toBe(join(repoRoot(), 'snapshots', commit));
    expect(await readFile(join(repoRoot(), 'refs', 'main'), 'utf8')).toBe(commit);
    for (const p of TINY_MODEL_PATHS) {
      const pointer = join(repoRoot(), 'snapshots', commit, p);
      expect(got.files[p]).toBe(pointer);
      expect((await lstat(pointer)).isSymbolicLink()).toBe(true);
      const etag = p.endsWith('.json') ? gitSha1(bytesOf(p)) : sha256(bytesOf(p));
      const depth = p.split('/').length;
      expect(await readlink(pointer)).toBe(`${'../'.repeat(depth + 1)}blobs/${etag}`);
      expect(new Uint8Array(await readFile(pointer))).toEqual(bytesOf(p));
    }
    expect(got.downloaded.sort()).toEqual([...TINY_MODEL_PATHS].sort());
    expect((await readdir(join(repoRoot(), 'blobs'))).filter((f) => f.includes('incomplete'))).toEqual([]);
    // One API call for the commit, then one HEAD and one GET per file.
    const methods = hub.requests.map((r) => r.method);
    expect(methods.filter((m) => m === 'HEAD')).toHaveLength(4);
    expect(hub.requests[0]?.url).toBe(`/api/models/${REPO}/revision/main`);
  });

  it('resumes with a Range request after a cut connection, byte-identical', async () => {
    hub.cutNextBody(100_000, { path: DATA });
    const got = await downloadModelFiles(REPO, [DATA], opts());
    const gets = hub.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/cdn-lfs/'));
    expect(gets).toHaveLength(2);
    expect(gets[0]!.headers.range).toBeUndefined();
    // fetch may drop bytes it had queued but not yet handed over when the socket closed: the resume
    // point is what reached the disk, at most the 100000 bytes the server sent.
    const from = Number(gets[1]!.headers.range?.match(/^bytes=(\d+)-$/)?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(100_000);
    expect(new Uint8Array(await readFile(got.files[DATA]!))).toEqual(bytesOf(DATA));
  });

  it('keeps a cut download as blobs/{etag}.incomplete and resumes it in the next call', async () => {
    hub.cutNextBody(100_000, { path: DATA });
    const error = await rejection(downloadModelFiles(REPO, [DATA], { ...opts(), retries: 0 }));
    expect(error.code).toBe('NETWORK_ERROR');
    const blob = join(repoRoot(), 'blobs', sha256(bytesOf(DATA)));
    const held = (await stat(`${blob}.incomplete`)).size;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(100_000);
    await expect(lstat(join(repoRoot(), 'snapshots', commit, DATA))).rejects.toThrow();

    hub.clearLog();
    const got = await downloadModelFiles(REPO, [DATA], opts());
    const gets = hub.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/cdn-lfs/'));
    expect(gets.map((r) => r.headers.range)).toEqual([`bytes=${held}-`]);
    expect(new Uint8Array(await readFile(got.files[DATA]!))).toEqual(bytesOf(DATA));
    await expect(stat(`${blob}.incomplete`)).rejects.toThrow();
  });

  it('serves a commit-pinned cache hit with no request at all', async () => {
    const first = await downloadModelFiles(REPO, TINY_MODEL_PATHS, opts());
    hub.clearLog();
    const again = await downloadModelFiles(REPO, TINY_MODEL_PATHS, { ...opts(), revision: commit });
    expect(hub.requests).toEqual([]);
    expect(again.files).toEqual(first.files);
    expect(again.downloaded).toEqual([]);
  });

  it('resolves a branch with one metadata request, and follows it when it moves', async () => {
    await downloadModelFiles(REPO, TINY_MODEL_PATHS, opts());
    hub.clearLog();
    const again = await downloadModelFiles(REPO, TINY_MODEL_PATHS, opts());
    expect(hub.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET /api/models/${REPO}/revision/main`,
    ]);
    expect(again.downloaded).toEqual([]);

    const moved = hub.addCommit('onnx-community/tiny-pali', {
      ...TINY_MODEL_FILES,
      'config.json': '{"v": 2}\n',
    });
    try {
      hub.clearLog();
      const next = await downloadModelFiles(REPO, TINY_MODEL_PATHS, opts());
      expect(next.commit).toBe(moved);
      expect(await readFile(join(repoRoot(), 'refs', 'main'), 'utf8')).toBe(moved);
      // Unchanged blobs are linked, not fetched again.
      expect(next.downloaded).toEqual(['config.json']);
      expect(await readFile(next.files['config.json']!, 'utf8')).toBe('{"v": 2}\n');
    } finally {
      hub.addCommit(REPO, { ...TINY_MODEL_FILES }); // put main back for the other tests
    }
  });

  it('pins a tag or commit other than main', async () => {
    const got = await downloadModelFiles(REPO, ['config.json'], { ...opts(), revision: commit });
    expect(got.commit).toBe(commit);
    await expect(stat(join(repoRoot(), 'refs'))).rejects.toThrow(); // a commit writes no ref
    const error = await rejection(downloadModelFiles(REPO, ['config.json'], { ...opts(), revision: 'v9' }));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.details.hubErrorCode).toBe('RevisionNotFound');
  });

  it('says to accept the licence and set HF_TOKEN for a gated repo without a token', async () => {
    const error = await rejection(downloadModelFiles(GATED, ['config.json'], opts()));
    expect(error.message).toMatch(/HF_TOKEN/);
    expect(error.message).toMatch(/accept the licence/i);
    expect(error.message).toContain(`${hub.url}/${GATED}`);
    expect(error.details).toMatchObject({ status: 401, gated: true, hubErrorCode: 'GatedRepo' });

    const refused = await rejection(
      downloadModelFiles(GATED, ['config.json'], { ...opts(), env: { HF_TOKEN: 'hf_not_accepted' } }),
    );
    expect(refused.details).toMatchObject({ status: 403, gated: true });
    expect(refused.message).toMatch(/accept the licence/i);
  });

  it('downloads a gated repo with HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) and sends it as Bearer', async () => {
    const got = await downloadModelFiles(GATED, ['config.json', 'model.onnx'], {
      ...opts(),
      env: { HF_TOKEN: 'hf_accepted' },
    });
    expect(await readFile(got.files['config.json']!, 'utf8')).toBe('{}');
    const hubRequests = hub.requests.filter((r) => !r.url.startsWith('/cdn-lfs/'));
    expect(hubRequests.every((r) => r.headers.authorization === 'Bearer hf_accepted')).toBe(true);
    await rm(cacheDir, { recursive: true });
    await downloadModelFiles(GATED, ['config.json'], {
      ...opts(),
      env: { HUGGING_FACE_HUB_TOKEN: 'hf_accepted' },
    });
  });

  it('offline mode makes no request and names the files it lacks', async () => {
    await downloadModelFiles(REPO, ['config.json', 'tokenizer.json'], opts());
    hub.clearLog();
    const noNetwork = (() => {
      throw new Error('network used');
    }) as unknown as typeof fetch;
    const got = await downloadModelFiles(REPO, ['config.json'], {
      ...opts(),
      env: { HF_HUB_OFFLINE: '1' },
      fetch: noNetwork,
    });
    expect(got.commit).toBe(commit);
    const error = await rejection(
      downloadModelFiles(REPO, ['config.json', DATA], { ...opts(), offline: true, fetch: noNetwork }),
    );
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.message).toContain(DATA);
    expect(error.details.missing).toEqual([DATA]);
    const noRef = await rejection(
      downloadModelFiles(REPO, ['config.json'], {
        ...opts(),
        offline: true,
        revision: 'v1',
        fetch: noNetwork,
      }),
    );
    expect(noRef.message).toMatch(/refs\/v1/);
    expect(hub.requests).toEqual([]);
  });

  it('falls back to the cache when the Hub cannot be reached, as Python does', async () => {
    await downloadModelFiles(REPO, ['config.json'], opts());
    const closed = new FakeHub();
    const deadUrl = await closed.start();
    await closed.close();
    const got = await downloadModelFiles(REPO, ['config.json'], {
      ...opts(),
      endpoint: undefined,
      env: { HF_ENDPOINT: deadUrl },
    });
    expect(got.commit).toBe(commit);
    const error = await rejection(downloadModelFiles(REPO, [DATA], { ...opts(), endpoint: deadUrl }));
    expect(error.code).toBe('NETWORK_ERROR');
  });

  it('honours HF_ENDPOINT', async () => {
    const got = await downloadModelFiles(REPO, ['config.json'], {
      cacheDir,
      env: { HF_ENDPOINT: `${hub.url}/` },
    });
    expect(got.commit).toBe(commit);
    expect(hub.requests.length).toBeGreaterThan(0);
  });

  it('leaves only a resumable .incomplete blob when cancelled mid-download', async () => {
    hub.setBodyPace(4096, 3);
    const controller = new AbortController();
    const error = await rejection(
      downloadModelFiles(REPO, [DATA], {
        ...opts(),
        signal: controller.signal,
        onProgress: (e) => {
          if (e.file === DATA && e.loaded > 40_000) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('ABORTED');
    await expect(lstat(join(repoRoot(), 'snapshots', commit, DATA))).rejects.toThrow();
    const blobs = await readdir(join(repoRoot(), 'blobs'));
    expect(blobs).toEqual([`${sha256(bytesOf(DATA))}.incomplete`]);
    const held = (await stat(join(repoRoot(), 'blobs', blobs[0]!))).size;
    expect(held).toBeGreaterThan(40_000);
    expect(held).toBeLessThan(300_000);

    hub.setBodyPace(64 * 1024, 0);
    hub.clearLog();
    const got = await downloadModelFiles(REPO, [DATA], opts());
    expect(hub.requests.find((r) => r.url.startsWith('/cdn-lfs/'))?.headers.range).toBe(`bytes=${held}-`);
    expect(new Uint8Array(await readFile(got.files[DATA]!))).toEqual(bytesOf(DATA));
  });

  it('reports progress per file and overall, monotone and ending at the total', async () => {
    hub.setBodyPace(16 * 1024, 1);
    const events: HubProgressEvent[] = [];
    await downloadModelFiles(REPO, ['config.json'], opts()); // one file already cached
    await downloadModelFiles(REPO, TINY_MODEL_PATHS, { ...opts(), onProgress: (e) => events.push(e) });
    const total = TINY_MODEL_PATHS.reduce((s, p) => s + bytesOf(p).byteLength, 0);
    expect(events.every((e) => e.overall.total === total)).toBe(true);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.overall.loaded).toBeGreaterThanOrEqual(events[i - 1]!.overall.loaded);
    }
    for (const p of TINY_MODEL_PATHS) {
      const mine = events.filter((e) => e.file === p);
      for (let i = 1; i < mine.length; i++)
        expect(mine[i]!.loaded).toBeGreaterThanOrEqual(mine[i - 1]!.loaded);
      expect(mine.at(-1)).toMatchObject({ loaded: bytesOf(p).byteLength, total: bytesOf(p).byteLength });
    }
    expect(events.filter((e) => e.file === DATA).length).toBeGreaterThan(10);
    expect(events.at(-1)!.overall).toEqual({ loaded: total, total, files: 4, filesDone: 4 });
  });

  it('turns a missing repo or file into NOT_FOUND with the URL', async () => {
    const noRepo = await rejection(downloadModelFiles('onnx-community/nope', ['config.json'], opts()));
    expect(noRepo.code).toBe('NOT_FOUND');
    expect(noRepo.message).toContain(`${hub.url}/api/models/onnx-community/nope/revision/main`);
    expect(noRepo.message).toMatch(/HF_TOKEN/); // a 401 may hide a private repo
    const noFile = await rejection(downloadModelFiles(REPO, ['missing.json'], opts()));
    expect(noFile.code).toBe('NOT_FOUND');
    expect(noFile.message).toContain(`${hub.url}/${REPO}/resolve/${commit}/missing.json`);
  });

  it('records an absent optional file in .no_exist and does not ask again', async () => {
    const got = await downloadModelFiles(
      REPO,
      ['config.json', { path: 'generation_config.json', optional: true }],
      opts(),
    );
    expect(got.missing).toEqual(['generation_config.json']);
    expect(await stat(join(repoRoot(), '.no_exist', commit, 'generation_config.json'))).toBeTruthy();
    hub.clearLog();
    await downloadModelFiles(REPO, ['config.json', { path: 'generation_config.json', optional: true }], {
      ...opts(),
      revision: commit,
    });
    expect(hub.requests).toEqual([]);
    expect(await findCachedFile(REPO, 'generation_config.json', { cacheDir })).toBeNull();
    expect(await findCachedFile(REPO, 'config.json', { cacheDir })).toBe(got.files['config.json']);
    expect(await findCachedFile(REPO, DATA, { cacheDir })).toBeUndefined();
  });

  it('rejects repo ids and paths that could escape the cache', async () => {
    for (const bad of ['../x', 'a/b/c', 'a--b/c', '']) {
      expect((await rejection(downloadModelFiles(bad, ['config.json'], opts()))).code).toBe(
        'INVALID_ARGUMENT',
      );
    }
    for (const bad of ['../config.json', '/etc/passwd', 'a//b', 'a\\b']) {
      expect((await rejection(downloadModelFiles(REPO, [bad], opts()))).code).toBe('INVALID_ARGUMENT');
    }
    expect(hub.requests).toEqual([]);
  });
});

describe('downloadModelFiles integrity', () => {
  it('rejects bytes that do not match the etag and keeps nothing of them', async () => {
    hub.corruptNextBody(DATA);
    const error = await rejection(downloadModelFiles(REPO, [DATA], opts()));
    expect(error.code).toBe('CORRUPT_FILE');
    expect(await readdir(join(repoRoot(), 'blobs'))).toEqual([]);
    await expect(lstat(join(repoRoot(), 'snapshots', commit, DATA))).rejects.toThrow();
    const got = await downloadModelFiles(REPO, [DATA], opts());
    expect(new Uint8Array(await readFile(got.files[DATA]!))).toEqual(bytesOf(DATA));
  });
});
