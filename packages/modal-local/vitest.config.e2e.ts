import { defineConfig } from "vitest/config";
// `npm run test:e2e`: sandboxes as real Docker containers, image layers built by the engine.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.test.ts"],
    env: { MODAL_CONFIG_PATH: "/nonexistent/modal-local-test.toml" },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
