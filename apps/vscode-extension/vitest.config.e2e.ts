import { defineConfig } from "vitest/config";

// `npm run test:e2e`: the packaged .vsix in a real VS Code (code-server) driven through Chromium, see
// e2e/harness.ts. Needs `bash scripts/install-code-server.sh` (from the repo root) and Debian's chromium.
// One file at a time: each test starts its own code-server and browser, and the machine has 2 cores.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.test.ts"],
    testTimeout: 240_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    fileParallelism: false,
    maxConcurrency: 1,
    retry: 0,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
