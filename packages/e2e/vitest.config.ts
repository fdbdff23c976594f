import { defineConfig } from "vitest/config";
// Real servers, CLI processes and clouds' local stand-ins: more time, one file at a time.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 180_000, hookTimeout: 180_000, fileParallelism: false },
});
