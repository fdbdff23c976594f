import { defineConfig } from "vitest/config";
// `npm run test:e2e`: the Docker backend on a real daemon, with ferry-base:bookworm.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
