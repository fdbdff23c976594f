import { defineConfig } from "vitest/config";
// `npm run test:e2e`: ecs:push end to end, its ECS tasks Docker containers of the engine image.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
