import { defineConfig } from "vitest/config";
// `npm test`: unit tests, and the built engine as a child process against a real server (test/), which
// clones real git repositories and installs real packages: minutes, one file at a time.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/*.e2e.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
