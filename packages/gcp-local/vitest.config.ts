import { defineConfig } from "vitest/config";
// `npm test`: unit tests (names, limits, filters, keys), and the official Google Cloud clients against a
// real server with no container engine (test/: Docker off, or a hand-written container runtime). One file
// at a time: the machines have two cores.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/*.e2e.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
