// One vitest setup for every package: tests beside the code, workspace packages resolved to their
// TypeScript sources (the "source" export condition) so tests never need a prior build.
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

const conditions = ['source', 'module', 'node', 'import', 'default'];

/**
 * @param {string} configUrl import.meta.url of the package's vitest.config.ts
 * @param {import('vitest/config').UserWorkspaceConfig['test']} [test] overrides
 */
export function packageProject(configUrl, test = {}) {
  const root = dirname(fileURLToPath(configUrl));
  return defineProject({
    root,
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['source'] } },
    test: {
      name: basename(root),
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: 60_000,
      hookTimeout: 60_000,
      ...test,
    },
  });
}
