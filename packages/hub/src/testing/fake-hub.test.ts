import { downloadFile, fileDownloadInfo } from '@huggingface/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub, gitBlobSha1, sha256Hex } from './fake-hub.js';
import { TINY_MODEL_FILES } from './repo-fixture.js';

// The fake must look like the Hub to other clients too: @huggingface/hub reads it here, Python's
// huggingface_hub in scripts/python-interop.sh (its cache tree is fixtures/hf-cache-layout).
const REPO = 'onnx-community/tiny-pali';
const ONNX = 'onnx/decoder_model_merged_q4.onnx';
let hub: FakeHub;
let commit: string;

beforeAll(async () => {
  hub = new FakeHub();
  await hub.start();
  commit = hub.addRepo(REPO, { ...TINY_MODEL_FILES });
});
afterAll(() => hub.close());

describe('FakeHub as the Hub', () => {
  it('is read by @huggingface/hub: etags, sizes and bytes', async () => {
    const json = await fileDownloadInfo({ repo: REPO, path: 'config.json', hubUrl: hub.url });
    const config = new TextEncoder().encode(TINY_MODEL_FILES['config.json']);
    expect(json).toMatchObject({ size: config.byteLength, etag: `"${gitBlobSha1(config)}"` });
    const lfs = await fileDownloadInfo({ repo: REPO, path: ONNX, hubUrl: hub.url });
    expect(lfs?.size).toBe(TINY_MODEL_FILES[ONNX].byteLength);
    expect(lfs?.etag).toBe(`"${sha256Hex(TINY_MODEL_FILES[ONNX])}"`);
    const blob = await downloadFile({ repo: REPO, path: ONNX, hubUrl: hub.url, xet: false });
    expect(new Uint8Array(await blob!.arrayBuffer())).toEqual(TINY_MODEL_FILES[ONNX]);
    expect(await fileDownloadInfo({ repo: REPO, path: 'nope.json', hubUrl: hub.url })).toBeNull();
  });

  it('answers an LFS HEAD with a 302 to another host carrying the linked etag and size', async () => {
    const res = await fetch(`${hub.url}/${REPO}/resolve/main/${ONNX}`, {
      method: 'HEAD',
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('x-repo-commit')).toBe(commit);
    expect(res.headers.get('x-linked-size')).toBe(String(TINY_MODEL_FILES[ONNX].byteLength));
    const location = new URL(res.headers.get('location')!);
    expect(location.hostname).not.toBe(new URL(hub.url).hostname);
    const ranged = await fetch(location, { headers: { range: 'bytes=10-19' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 10-19/${TINY_MODEL_FILES[ONNX].byteLength}`);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(TINY_MODEL_FILES[ONNX].subarray(10, 20));
    const beyond = await fetch(location, { headers: { range: 'bytes=999999999-' } });
    expect(beyond.status).toBe(416);
  });

  it('sends the error codes huggingface_hub branches on', async () => {
    const missingRepo = await fetch(`${hub.url}/org/none/resolve/main/x`, { method: 'HEAD' });
    expect([missingRepo.status, missingRepo.headers.get('x-error-code')]).toEqual([401, 'RepoNotFound']);
    const missingFile = await fetch(`${hub.url}/${REPO}/resolve/main/x.json`, { method: 'HEAD' });
    expect([missingFile.status, missingFile.headers.get('x-error-code')]).toEqual([404, 'EntryNotFound']);
    expect(missingFile.headers.get('x-repo-commit')).toBe(commit);
    const badRev = await fetch(`${hub.url}/${REPO}/resolve/v0/config.json`, { method: 'HEAD' });
    expect([badRev.status, badRev.headers.get('x-error-code')]).toEqual([404, 'RevisionNotFound']);
  });
});
