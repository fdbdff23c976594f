import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";

// The runner executes the committed dist/index.js, never the source: a change to src/ without a rebuild
// would ship stale code. Build to a temporary directory and compare.
it("dist/index.js is the current build of src/ (run 'npm run build' and commit dist/ when this fails)", () => {
  const root = resolve(import.meta.dirname, "..");
  const out = mkdtempSync(join(tmpdir(), "ferry-action-dist-"));
  try {
    execFileSync(process.execPath, ["build.mjs", "--outfile", join(out, "index.js")], { cwd: root });
    const fresh = readFileSync(join(out, "index.js"), "utf8");
    const committed = readFileSync(join(root, "dist/index.js"), "utf8");
    expect(committed === fresh, "dist/index.js is stale: run 'npm run build -w @ferry/github-action' and commit dist/").toBe(true);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 60_000);
