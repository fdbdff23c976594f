import { defineConfig } from "vitest/config";
// `npm test`: run() in-process against a real Ferry server (no runner) and small fake GitHub servers,
// and end to end (test/): a real server running Python flows with the process backend, the action
// driven through @github/local-action and through the committed dist/index.js. Nothing here needs a
// service, so there is no test:e2e.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
