import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";

// The runner executes the committed dist/index.js, never the source: a change to src/ without a rebuild
// would ship stale code. The same goes for the bundle's licences and the root action.yml (what
// `uses: OWNER/ferry@v1` reads). Build to a temporary directory and compare.
it("dist/index.js, dist/licenses.txt and the root action.yml are the current build (run 'npm run build' and commit them when this fails)", () => {
  const root = resolve(import.meta.dirname, "..");
  const out = mkdtempSync(join(tmpdir(), "ferry-action-dist-"));
  try {
    execFileSync(process.execPath, ["build.mjs", "--outfile", join(out, "index.js")], { cwd: root });
    const pairs: [string, string][] = [
      [join(out, "index.js"), join(root, "dist/index.js")],
      [join(out, "licenses.txt"), join(root, "dist/licenses.txt")],
      [join(out, "action.yml"), join(root, "../../action.yml")],
    ];
    for (const [fresh, committed] of pairs) {
      expect(readFileSync(committed, "utf8") === readFileSync(fresh, "utf8"), `${committed} is stale: run 'npm run build -w @ferry/github-action' and commit it`).toBe(true);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 60_000);

it("the root action.yml runs the committed bundle, main and post, on node24", () => {
  const root = resolve(import.meta.dirname, "..");
  const text = readFileSync(join(root, "../../action.yml"), "utf8");
  expect(text).toMatch(/^ {2}using: node24$/m);
  expect(text).toMatch(/^ {2}main: apps\/github-action\/dist\/index\.js$/m);
  expect(text).toMatch(/^ {2}post: apps\/github-action\/dist\/index\.js$/m);
  expect(text).toMatch(/^ {2}post-if: always\(\)$/m);
});

it("dist/licenses.txt carries the licence of every third-party package in the bundle", () => {
  const text = readFileSync(resolve(import.meta.dirname, "../dist/licenses.txt"), "utf8");
  for (const pkg of ["@actions/core@", "@octokit/rest@", "yaml@", "undici@"]) expect(text).toContain(pkg);
  expect(text).toMatch(/MIT License|Permission is hereby granted/);
  expect(text).not.toMatch(/@ferry\//);
});
