import { defineConfig } from "vitest/config";
// `npm test`: unit tests of the Job builder, the pod → exit mapping, the NetworkPolicy and errors (no
// cluster). One file at a time: the machines have two cores.
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
