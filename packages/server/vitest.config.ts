import { defineConfig } from "vitest/config";
// `npm test`: unit tests, and servers over HTTP on PGlite (test/*.test.ts), one file at a time to keep
// the two-core machines from thrashing. What needs PostgreSQL or Docker is vitest.config.e2e.ts.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/*.e2e.test.ts"],
    testTimeout: 120_000, // servers, retries with backoff and cancels: over a minute on a loaded 2-core machine
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
