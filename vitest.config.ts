import { defineConfig } from 'vitest/config';

// Tests run against the compiled JavaScript in dist/ (`npm test` builds first): piscina workers load compiled
// files, and end-to-end tests start the real server binary.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
