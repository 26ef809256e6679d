import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // QEMU and Chromium tests are heavy; two cores on CI machines.
    maxWorkers: 2,
  },
});
