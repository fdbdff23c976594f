import { defineConfig } from "vitest/config";
// `npm test`: unit tests, and the official Modal SDK against @ferry/modal-local with no container engine
// (provisioning and the client plugin run no sandbox). One file at a time: the machines have two cores.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/*.e2e.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // The SDK reads ~/.modal.toml when it is imported: never the developer's own.
    env: { MODAL_CONFIG_PATH: "/nonexistent/provider-modal-test.toml" },
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
