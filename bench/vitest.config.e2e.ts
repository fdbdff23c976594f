import { defineConfig } from "vitest/config";
// `npm run test:e2e`: a short run of the whole bench (small sizes), so it keeps working; it checks that
// every figure was measured, never how fast.
export default defineConfig({
  test: {
    include: ["src/**/*.e2e.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ["default", "../test-support/skips-reporter.js"],
  },
});
