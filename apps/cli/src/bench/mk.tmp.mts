import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '@pali/convert';
import { ensureRandomCheckpoint } from './random-checkpoint.js';

const root = join(homedir(), '.cache/pali/bench');
for (const size of [224] as const) {
  let t = performance.now();
  const ck = await ensureRandomCheckpoint(root, size, '/work/main/fixtures/models/tiny-3b', (s) =>
    console.log(s),
  );
  console.log('checkpoint', ck, ((performance.now() - t) / 1000).toFixed(1), 's');
  t = performance.now();
  const out = join(root, `onnx-${size}-fp32`);
  if (!existsSync(out)) await convertCheckpoint(ck, out, {});
  console.log('converted', ((performance.now() - t) / 1000).toFixed(1), 's', process.resourceUsage().maxRSS);
}
