import { defineConfig } from "vitest/config";
// The integration tests start a real server and the built engine as a child process, clone real git
// repositories and install real packages, so they get minutes, and run one file at a time.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
