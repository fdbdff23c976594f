import { defineConfig } from "vitest/config";
// Integration tests drive the official AWS SDK against @ferry/aws-local, which runs ECS tasks as Docker
// containers, so they get more time and run one file at a time.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false, passWithNoTests: true },
});
