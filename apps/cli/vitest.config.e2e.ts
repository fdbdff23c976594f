import { defineConfig } from "vitest/config";
// End-to-end tests run the built binary against a real server on a free port, as a user would.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
