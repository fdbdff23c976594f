import { defineConfig } from "vitest/config";
// `npm run test:e2e`: ecs:push end to end, its ECS tasks Docker containers of the engine image.
export default defineConfig({
  test: {
    include: ["test/**/*.e2e.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Two files at once: this package runs last in its phase, mostly alone, and its files mostly wait
    // (servers, emulators, containers). Each file has its own servers, homes and free ports.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
