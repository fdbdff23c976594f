import { defineConfig } from "vitest/config";
// `npm test`: unit tests, and the built binary against a real server on a free port, as a user runs it
// (test/; the global setup builds the binary). One file at a time: each starts its servers.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/*.e2e.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 180_000, // each test spawns CLI processes and servers: minutes when the 2-core machine is loaded
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
