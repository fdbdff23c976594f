import { defineConfig } from "vitest/config";
// `npm run test:e2e`: `ferry deploy` building on the engine image with Docker and pushing to a registry.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
