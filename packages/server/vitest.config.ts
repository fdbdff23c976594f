import { defineConfig } from "vitest/config";
// `npm test`: unit tests, and servers over HTTP on PGlite (test/*.test.ts), one file at a time to keep
// the two-core machines from thrashing. What needs PostgreSQL or Docker is vitest.config.e2e.ts.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/*.e2e.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
