import { defineConfig } from 'vitest/config';

// Each package and app has its own vitest.config.ts built from @pali/vitest-config.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'tooling/*/vitest.config.ts'],
  },
});
