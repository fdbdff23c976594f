import { defineConfig } from "vitest/config";
// Integration tests talk to real things (PGlite, PostgreSQL, a server over HTTP), so they get more time
// and run one file at a time to keep the two-core machines from thrashing.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false },
});
