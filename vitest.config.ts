import { defineConfig } from 'vitest/config';

// Unit tests of plain TypeScript (src/pipeline, src/state): no browser, no React plugin needed.
// `vitest run` exits non-zero when no test file is found; keep passWithNoTests off.
export default defineConfig({
  test: {
    include: ['tests/web/**/*.test.ts'],
    environment: 'node',
    passWithNoTests: false,
    pool: 'threads',
    maxWorkers: 2,
  },
});
