import { defineConfig } from "vitest/config";
// `npm run test:e2e`: the backend through the official client against kubernetes-local, whose pods are
// containers of ferry-base:bookworm on a real Docker daemon.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
