import { defineConfig } from "vitest/config";
// Unit tests: pure functions and small fakes, no Docker and no child processes.
export default defineConfig({ test: { include: ["src/**/*.test.ts"] } });
