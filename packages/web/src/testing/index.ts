// Test helpers (Node only): a COOP/COEP static server, Chromium, and bundles as browsers get them.
export type { Browser } from './browser.js';
export {
  bundle,
  bundleScript,
  bundleWorker,
  CHROMIUM,
  hasChromium,
  ORT_DIST,
  openChromium,
} from './browser.js';
export type { Route, StaticServer } from './static-server.js';
export { serveStatic } from './static-server.js';
