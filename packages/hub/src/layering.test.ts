import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The platform-free entry and the browser entry must bundle for a browser: no Node built-ins, and no
// reach into the Node or testing folders.
const src = fileURLToPath(new URL('.', import.meta.url));
const sources = (dir: string) =>
  readdirSync(join(src, dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(dir, f));

describe('layering', () => {
  it.each([...sources('.'), ...sources('browser')])('%s imports nothing Node-only', (file) => {
    const text = readFileSync(join(src, file), 'utf8');
    const imports = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
    expect(imports.filter((i) => i.startsWith('node:') || /\/(node|testing)\//.test(i))).toEqual([]);
  });
});
