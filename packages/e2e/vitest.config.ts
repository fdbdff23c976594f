import { defineConfig } from "vitest/config";
// `npm test`: real servers, CLI processes and aws-local without a container engine, the architecture
// check on small trees, and the shared skip reporter on fixtures. More time.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["**/*.e2e.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Two files at once: this package runs last in its phase, mostly alone, and its files mostly wait
    // (servers, emulators, containers). Each file has its own servers, homes and free ports.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
