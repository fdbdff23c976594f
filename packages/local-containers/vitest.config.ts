import { defineConfig } from "vitest/config";
// `npm test`: the Docker request a launch becomes and Docker's log framing, without a Docker engine
// (the local clouds' e2e suites run containers through this package).
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    reporters: ["default", "../../test-support/skips-reporter.js"],
  },
});
