export type { CacheEntry } from './cache-listing.js';
export { listRepoCache } from './cache-listing.js';
export type { FakeFile, FakeFileInput, FakeRepoOptions, LoggedRequest } from './fake-hub.js';
export { FakeHub, gitBlobSha1, sha256Hex } from './fake-hub.js';
export { MemoryCache } from './memory-cache.js';
export { pseudoRandomBytes, TINY_MODEL_FILES, TINY_MODEL_PATHS } from './repo-fixture.js';
