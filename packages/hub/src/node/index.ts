export type { HubEnv, HubFileSpec, HubOptions, HubProgressEvent } from '../config.js';
export { RepoCache, repoFolderName, resolveCacheDir } from './cache-layout.js';
export type { CachedModelFiles, NodeHubOptions } from './download-to-cache.js';
export { downloadModelFile, downloadModelFiles, findCachedFile } from './download-to-cache.js';
