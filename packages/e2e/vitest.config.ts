import { defineConfig } from "vitest/config";
// `npm test`: real servers, CLI processes and aws-local without a container engine, the architecture
// check on small trees, and the shared skip reporter on fixtures. More time, one file at a time.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["**/*.e2e.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
