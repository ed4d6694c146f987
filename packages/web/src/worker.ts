// The Web Worker entry: `new Worker(new URL('@pali/web/worker', import.meta.url), { type: 'module' })`,
// or a worker file of your own that imports this module.
import { loadPaliGemma } from './load.js';
import type { MessagePortLike } from './protocol.js';
import { serveEngine } from './worker-server.js';

serveEngine(globalThis as unknown as MessagePortLike, loadPaliGemma);
