import { defineConfig } from "vitest/config";
// `npm test`: unit tests of the figures and options; the benchmark itself is `npm run bench`, and its
// short run in CI is `npm run test:e2e` (vitest.config.e2e.ts).
export default defineConfig({
  test: { include: ["src/**/*.test.ts"], exclude: ["src/**/*.e2e.test.ts"], reporters: ["default", "../test-support/skips-reporter.js"] },
});
