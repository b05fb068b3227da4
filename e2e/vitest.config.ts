import { defineConfig } from "vitest/config";

/**
 * Browser end-to-end tests (`npm run e2e`): Debian's chromium and nginx, real processes. Not a
 * project of the root config, so `npm test` runs without a browser.
 */
export default defineConfig({
  test: {
    name: "e2e",
    root: "e2e",
    include: ["**/*.e2e.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
