import { defineConfig } from "vitest/config";
// `npm run test:e2e`: the suites on PostgreSQL (FERRY_TEST_DATABASE_URL) and managed runs in Docker.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
