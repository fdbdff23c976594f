import { defineConfig } from "vitest/config";
// `npm test`: unit tests, and the official Modal SDK against a real server whose sandboxes live in memory
// (no container engine). One file at a time: the machines have two cores.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/*.e2e.test.ts"],
    // The SDK reads ~/.modal.toml when it is imported: never the developer's own.
    env: { MODAL_CONFIG_PATH: "/nonexistent/modal-local-test.toml" },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
