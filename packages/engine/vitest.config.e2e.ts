import { defineConfig } from "vitest/config";
// `npm run test:e2e`: the engine in its Docker image (built by the test on ferry-base:bookworm).
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
