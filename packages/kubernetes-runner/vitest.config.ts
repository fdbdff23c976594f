import { defineConfig } from "vitest/config";
// `npm test`: unit tests, and the process backend's real child processes through the built package
// (dist/, which also ships its supervisor script). One file at a time: the memory cases allocate
// hundreds of MiB, and the machines have two cores.
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
