import { isPaliError, type PaliError } from '@pali/errors';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HubProgressEvent } from '../config.js';
import { FakeHub } from '../testing/fake-hub.js';
import { MemoryCache } from '../testing/memory-cache.js';
import { TINY_MODEL_FILES, TINY_MODEL_PATHS } from '../testing/repo-fixture.js';
import { clearCachedRepo, fetchModelFiles } from './fetch-model-files.js';

// Node has no Cache API: these run the browser entry against a Map-backed CacheLike and Node's
// fetch. A run in a real browser comes with the web demo.
const REPO = 'onnx-community/tiny-pali';
const DATA = 'onnx/decoder_model_merged_q4.onnx_data';
const bytesOf = (p: keyof typeof TINY_MODEL_FILES): Uint8Array => {
  const v = TINY_MODEL_FILES[p];
  return typeof v === 'string' ? new TextEncoder().encode(v) : v;
};

let hub: FakeHub;
let commit: string;
let cache: MemoryCache;
const opts = () => ({ cache, endpoint: hub.url, env: {}, retryDelayMs: 10 });

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
  hub.addRepo('google/gated', { 'config.json': '{}' }, { gated: true, acceptedTokens: ['hf_ok'] });
});
afterAll(() => hub.close());
beforeEach(() => {
  cache = new MemoryCache();
  hub.clearLog();
  hub.setBodyPace(64 * 1024, 0);
});

describe('fetchModelFiles (browser, Cache API)', () => {
  it('fetches with progress and keeps files under the resolve URL with the commit', async () => {
    hub.setBodyPace(16 * 1024, 1);
    const events: HubProgressEvent[] = [];
    const got = await fetchModelFiles(REPO, TINY_MODEL_PATHS, {
      ...opts(),
      onProgress: (e) => events.push(e),
    });
    expect(got.commit).toBe(commit);
    for (const p of TINY_MODEL_PATHS) {
      const f = got.files[p]!;
      expect(f.url).toBe(`${hub.url}/${REPO}/resolve/${commit}/${p}`);
      expect(f.fromCache).toBe(false);
      expect(await f.bytes()).toEqual(bytesOf(p));
      expect(cache.entries.has(f.url)).toBe(true);
    }
    expect(cache.entries.has(`${hub.url}/api/models/${REPO}/revision/main`)).toBe(true);
    const total = TINY_MODEL_PATHS.reduce((s, p) => s + bytesOf(p).byteLength, 0);
    expect(events.every((e) => e.overall.total === total)).toBe(true);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.overall.loaded).toBeGreaterThanOrEqual(events[i - 1]!.overall.loaded);
    }
    expect(events.at(-1)!.overall).toEqual({ loaded: total, total, files: 4, filesDone: 4 });
  });

  it('serves a pinned commit from the cache with no request, a branch with one', async () => {
    await fetchModelFiles(REPO, TINY_MODEL_PATHS, opts());
    hub.clearLog();
    const pinned = await fetchModelFiles(REPO, TINY_MODEL_PATHS, { ...opts(), revision: commit });
    expect(hub.requests).toEqual([]);
    expect(Object.values(pinned.files).every((f) => f.fromCache)).toBe(true);
    expect(await pinned.files[DATA]!.bytes()).toEqual(bytesOf(DATA));
    await fetchModelFiles(REPO, TINY_MODEL_PATHS, opts());
    expect(hub.requests.map((r) => r.url)).toEqual([`/api/models/${REPO}/revision/main`]);
  });

  it('offline: no request; cached branch resolves; a missing file is a typed error', async () => {
    await fetchModelFiles(REPO, ['config.json'], opts());
    hub.clearLog();
    const got = await fetchModelFiles(REPO, ['config.json'], { ...opts(), env: { HF_HUB_OFFLINE: '1' } });
    expect(got.commit).toBe(commit);
    const error = await rejection(fetchModelFiles(REPO, ['config.json', DATA], { ...opts(), offline: true }));
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.details.missing).toEqual([DATA]);
    expect(hub.requests).toEqual([]);
  });

  it('resumes a cut body with a Range request within the call', async () => {
    hub.cutNextBody(100_000, { path: DATA });
    const got = await fetchModelFiles(REPO, [DATA], opts());
    const gets = hub.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/cdn-lfs/'));
    expect(gets).toHaveLength(2);
    expect(gets[1]!.headers.range).toMatch(/^bytes=\d+-$/);
    expect(await got.files[DATA]!.bytes()).toEqual(bytesOf(DATA));
  });

  it('says to set HF_TOKEN for a gated repo, and works with it', async () => {
    const error = await rejection(fetchModelFiles('google/gated', ['config.json'], opts()));
    expect(error.message).toMatch(/HF_TOKEN/);
    expect(error.details.gated).toBe(true);
    const got = await fetchModelFiles('google/gated', ['config.json'], { ...opts(), token: 'hf_ok' });
    expect(new TextDecoder().decode(await got.files['config.json']!.bytes())).toBe('{}');
  });

  it('caches nothing when cancelled, and works without any cache', async () => {
    hub.setBodyPace(4096, 3);
    const controller = new AbortController();
    const error = await rejection(
      fetchModelFiles(REPO, [DATA], {
        ...opts(),
        signal: controller.signal,
        onProgress: (e) => {
          if (e.loaded > 20_000) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('ABORTED');
    expect([...cache.entries.keys()].some((k) => k.endsWith(DATA))).toBe(false);
    hub.setBodyPace(64 * 1024, 0);
    const got = await fetchModelFiles(REPO, [DATA], { ...opts(), cache: null });
    expect(await got.files[DATA]!.bytes()).toEqual(bytesOf(DATA));
  });

  it('remembers an absent optional file and clears a repo', async () => {
    const got = await fetchModelFiles(
      REPO,
      ['config.json', { path: 'generation_config.json', optional: true }],
      opts(),
    );
    expect(got.missing).toEqual(['generation_config.json']);
    hub.clearLog();
    const again = await fetchModelFiles(
      REPO,
      ['config.json', { path: 'generation_config.json', optional: true }],
      {
        ...opts(),
        revision: commit,
      },
    );
    expect(again.missing).toEqual(['generation_config.json']);
    expect(hub.requests).toEqual([]);
    expect(await clearCachedRepo(cache, REPO, { endpoint: hub.url })).toBe(3);
    expect(cache.entries.size).toBe(0);
  });
});
