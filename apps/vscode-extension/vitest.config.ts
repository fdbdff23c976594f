import { defineConfig } from "vitest/config";
// Unit tests of the parts that need no editor: entrypoint discovery, ferry.yaml editing, the tree model.
export default defineConfig({ test: { include: ["test/**/*.test.ts"], exclude: ["e2e/**"] } });
