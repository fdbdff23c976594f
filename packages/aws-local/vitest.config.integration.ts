import { defineConfig } from "vitest/config";
// Integration tests: the official AWS SDK clients against a real server, and ECS tasks as real
// containers. One file at a time: the machines have two cores.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false },
});
