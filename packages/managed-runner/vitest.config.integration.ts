import { defineConfig } from "vitest/config";
// Integration tests start real containers and processes, through the built package (dist/), which is
// also what ships the process backend's supervisor script. One file at a time: the memory cases
// allocate hundreds of MiB, and the machines have two cores.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false },
});
