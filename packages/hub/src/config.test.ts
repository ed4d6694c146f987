import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveHubConfig } from './config.js';
import { hubErrorFromResponse } from './errors.js';
import { normalizeEtag, resolveUrl } from './hub-api.js';
import { repoFolderName, resolveCacheDir } from './node/cache-layout.js';

const fetchStub = (() => {}) as unknown as typeof fetch;

describe('configuration, as Python huggingface_hub reads it', () => {
  it('takes options over HF_* variables over defaults', () => {
    expect(resolveHubConfig({ env: {}, fetch: fetchStub })).toMatchObject({
      endpoint: 'https://huggingface.co',
      token: undefined,
      offline: false,
      revision: 'main',
    });
    const env = { HF_ENDPOINT: 'http://mirror:8080/', HF_TOKEN: 'hf_a', HF_HUB_OFFLINE: 'true' };
    expect(resolveHubConfig({ env, fetch: fetchStub })).toMatchObject({
      endpoint: 'http://mirror:8080',
      token: 'hf_a',
      offline: true,
    });
    expect(
      resolveHubConfig({ env, fetch: fetchStub, endpoint: 'http://x', token: 'hf_b', offline: false }),
    ).toMatchObject({ endpoint: 'http://x', token: 'hf_b', offline: false });
    expect(resolveHubConfig({ env: { HUGGING_FACE_HUB_TOKEN: 'hf_old' }, fetch: fetchStub }).token).toBe(
      'hf_old',
    );
    expect(resolveHubConfig({ env: { HF_HUB_OFFLINE: '0' }, fetch: fetchStub }).offline).toBe(false);
    expect(() => resolveHubConfig({ env: { HF_ENDPOINT: 'not a url' }, fetch: fetchStub })).toThrow(
      /HF_ENDPOINT/,
    );
  });

  it('finds the cache where Python does', () => {
    expect(resolveCacheDir({ env: {} })).toBe(join(homedir(), '.cache/huggingface/hub'));
    expect(resolveCacheDir({ env: { XDG_CACHE_HOME: '/x' } })).toBe('/x/huggingface/hub');
    expect(resolveCacheDir({ env: { HF_HOME: '/h', XDG_CACHE_HOME: '/x' } })).toBe('/h/hub');
    expect(resolveCacheDir({ env: { HUGGINGFACE_HUB_CACHE: '/old', HF_HOME: '/h' } })).toBe('/old');
    expect(resolveCacheDir({ env: { HF_HUB_CACHE: '/c', HUGGINGFACE_HUB_CACHE: '/old' } })).toBe('/c');
    expect(resolveCacheDir({ env: { HF_HUB_CACHE: '~/c' } })).toBe(join(homedir(), 'c'));
    expect(resolveCacheDir({ cacheDir: '/opt/c', env: { HF_HUB_CACHE: '/c' } })).toBe('/opt/c');
    expect(repoFolderName('google/paligemma2-3b-pt-224')).toBe('models--google--paligemma2-3b-pt-224');
  });

  it('builds resolve URLs and etags as hf_hub_url and _normalize_etag do', () => {
    expect(resolveUrl('https://huggingface.co', 'a/b', 'refs/pr/1', 'onnx/x y.onnx')).toBe(
      'https://huggingface.co/a/b/resolve/refs%2Fpr%2F1/onnx/x%20y.onnx',
    );
    expect(normalizeEtag('W/"abc"')).toBe('abc');
    expect(normalizeEtag('"abc"')).toBe('abc');
  });

  it('reads the Hub error headers into typed errors', () => {
    const ctx = { repo: 'google/x', revision: 'main', hadToken: false, endpoint: 'https://huggingface.co' };
    const res = (status: number, headers: Record<string, string>) => ({
      status,
      headers: new Headers(headers),
    });
    const gated = hubErrorFromResponse(res(401, { 'x-error-code': 'GatedRepo' }), 'u', ctx);
    expect(gated.code).toBe('NETWORK_ERROR');
    expect(gated.message).toMatch(/accept the licence on https:\/\/huggingface\.co\/google\/x.*HF_TOKEN/i);
    const denied = hubErrorFromResponse(res(403, { 'x-error-code': 'GatedRepo' }), 'u', {
      ...ctx,
      hadToken: true,
    });
    expect(denied.message).toMatch(/Accept the licence/);
    const hidden = hubErrorFromResponse(res(401, { 'x-error-code': 'RepoNotFound' }), 'u', ctx);
    expect([hidden.code, /HF_TOKEN/.test(hidden.message)]).toEqual(['NOT_FOUND', true]);
    const badToken = hubErrorFromResponse(
      res(401, { 'x-error-message': 'Invalid credentials in Authorization header' }),
      'u',
      { ...ctx, hadToken: true },
    );
    expect(badToken.message).toMatch(/rejected the access token/);
    expect(hubErrorFromResponse(res(503, {}), 'u', ctx).code).toBe('NETWORK_ERROR');
  });
});
