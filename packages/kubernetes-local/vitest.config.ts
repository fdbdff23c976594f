import { defineConfig } from "vitest/config";
// `npm test`: the official Kubernetes client against kubernetes-local with a hand-written container
// runtime (no Docker). One file at a time: the machines have two cores.
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
