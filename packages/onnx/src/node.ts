// Node-only parts: files on disk (positioned reads, streamed writes).

export { FileByteSource } from './node/file-source.js';
export { readNpzFile } from './node/npz-file.js';
export { openSafetensors, writeSafetensorsFile } from './node/safetensors-files.js';
export type { ExternalTensorRef, WriteModelOptions, WriteModelResult } from './node/write-model.js';
export { writeModel } from './node/write-model.js';
