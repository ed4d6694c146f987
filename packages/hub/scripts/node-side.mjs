// Node half of the interop check: read Python's cache offline, then download into a fresh cache.
// Usage: node node-side.mjs SERVER_JSON PY_CACHE NODE_CACHE
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadModelFiles } from '../dist/node/index.js';
import { listRepoCache, TINY_MODEL_FILES } from '../dist/testing/index.js';

const [serverJson, pyCache, nodeCache] = process.argv.slice(2);
const server = JSON.parse(await readFile(serverJson, 'utf8'));
const noNetwork = () => {
  throw new Error('network used in offline mode');
};
const expected = (p) => {
  const v = TINY_MODEL_FILES[p];
  return Buffer.from(typeof v === 'string' ? new TextEncoder().encode(v) : v);
};

const offline = await downloadModelFiles(server.repo, server.files, {
  cacheDir: pyCache,
  offline: true,
  fetch: noNetwork,
  env: {},
});
for (const p of server.files) {
  if (!(await readFile(offline.files[p])).equals(expected(p)))
    throw new Error(`${p} differs in Python's cache`);
}
console.log(
  `node read Python's cache offline: commit ${offline.commit}, ${server.files.length} files byte-identical`,
);

const got = await downloadModelFiles(server.repo, server.files, {
  cacheDir: nodeCache,
  endpoint: server.url,
  env: {},
});
console.log(`node downloaded into ${got.snapshotDir}`);
const folder = 'models--onnx-community--tiny-pali';
const py = JSON.stringify(await listRepoCache(join(pyCache, folder)));
const js = JSON.stringify(await listRepoCache(join(nodeCache, folder)));
if (py !== js) {
  console.log('LAYOUT DIFFERS\npython:', py, '\nnode:  ', js);
  process.exit(1);
}
console.log('node and Python cache trees are identical (paths, symlink targets, blob sizes, refs)');
