import { defineConfig } from "vitest/config";
// Unit tests: run() in-process against a real Ferry server (no runner) and small fake GitHub servers.
export default defineConfig({ test: { include: ["src/**/*.test.ts"], testTimeout: 30_000, hookTimeout: 60_000, fileParallelism: false } });
