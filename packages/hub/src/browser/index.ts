export type { HubEnv, HubFileSpec, HubOptions, HubProgressEvent } from '../config.js';
export type {
  BrowserHubOptions,
  BrowserModelFile,
  BrowserModelFiles,
  CacheLike,
} from './fetch-model-files.js';
export { clearCachedRepo, DEFAULT_CACHE_NAME, fetchModelFiles } from './fetch-model-files.js';
