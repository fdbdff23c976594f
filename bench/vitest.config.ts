import { defineConfig } from "vitest/config";
// `npm test`: unit tests of the figures and options; the benchmark itself is `npm run bench`.
export default defineConfig({ test: { include: ["src/**/*.test.ts"], reporters: ["default", "../test-support/skips-reporter.js"] } });
