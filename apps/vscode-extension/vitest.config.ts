import { defineConfig } from "vitest/config";
// `npm test`: the parts that need no editor: entrypoint discovery, ferry.yaml editing, the tree model.
export default defineConfig({ test: { include: ["test/**/*.test.ts"], reporters: ["default", "../../test-support/skips-reporter.js"] } });
