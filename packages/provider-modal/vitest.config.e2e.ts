import { defineConfig } from "vitest/config";
// `npm run test:e2e`: ModalProvider against @ferry/modal-local, whose sandboxes are Docker containers.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    env: { MODAL_CONFIG_PATH: "/nonexistent/provider-modal-test.toml" },
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
