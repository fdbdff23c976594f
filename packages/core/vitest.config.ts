import { defineConfig } from "vitest/config";
// `npm test`: unit tests next to the code. Nothing here needs a service, so there is no test:e2e.
export default defineConfig({ test: { include: ["src/**/*.test.ts"], reporters: ["default", "../../test-support/skips-reporter.js"] } });
