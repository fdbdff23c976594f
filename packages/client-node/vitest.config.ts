import { defineConfig } from "vitest/config";
// `npm test`: unit tests next to the code, and deploying from code against a real server on the embedded
// store with the process backend (test/*.test.ts). Nothing here needs a service, so there is no test:e2e.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
