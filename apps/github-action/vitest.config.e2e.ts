import { defineConfig } from "vitest/config";
// End to end: a real server running Python flows with the process backend, the action driven through
// @github/local-action and through the committed dist/index.js.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
