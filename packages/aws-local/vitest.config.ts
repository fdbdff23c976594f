import { defineConfig } from "vitest/config";
// Unit tests: pure functions (protocol encoding, request parsing, task specs), no server and no Docker.
export default defineConfig({ test: { include: ["src/**/*.test.ts"] } });
