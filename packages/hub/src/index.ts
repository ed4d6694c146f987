export type { HubEnv, HubFileSpec, HubOptions, HubProgressEvent, ResolvedHubConfig } from './config.js';
export {
  DEFAULT_ENDPOINT,
  DEFAULT_REVISION,
  envFlag,
  isCommitHash,
  normalizeFileSpecs,
  resolveEndpoint,
  resolveHubConfig,
  validateRepoId,
  validateRepoPath,
  validateRevision,
} from './config.js';
export type { DownloadSink, ResumableDownload } from './download.js';
export { downloadResumable } from './download.js';
export type { HubErrorDetails } from './errors.js';
export { hubErrorFromResponse } from './errors.js';
export type { HubFileMetadata, HubRevisionInfo } from './hub-api.js';
export {
  fetchFileMetadata,
  fetchRevisionInfo,
  normalizeEtag,
  resolveUrl,
  revisionApiUrl,
} from './hub-api.js';
export { ProgressTracker } from './progress.js';
