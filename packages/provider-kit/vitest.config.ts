import { defineConfig } from "vitest/config";
// `npm test`: unit tests, and the conformance suites on in-memory clouds (test/). Nothing here needs a
// service, so there is no test:e2e.
export default defineConfig({ test: { include: ["src/**/*.test.ts", "test/**/*.test.ts"], reporters: ["default", "../../test-support/skips-reporter.js"] } });
