// Serves the tiny test repo on 127.0.0.1 for the Python interop check (scripts/python-interop.sh).
// Needs `pnpm --filter @pali/hub build` first. Prints {"url", "commit", "repo", "files"} and runs until killed.
import { FakeHub, TINY_MODEL_FILES } from '../dist/testing/index.js';

const repo = 'onnx-community/tiny-pali';
const hub = new FakeHub();
const url = await hub.start();
const commit = hub.addRepo(repo, { ...TINY_MODEL_FILES });
console.log(JSON.stringify({ url, commit, repo, files: Object.keys(TINY_MODEL_FILES) }));
process.on('SIGTERM', async () => {
  console.error(`served ${hub.requests.length} requests:`);
  for (const r of hub.requests)
    console.error(`  ${r.method} ${r.url}${r.headers.range ? ` (${r.headers.range})` : ''}`);
  await hub.close();
  process.exit(0);
});
