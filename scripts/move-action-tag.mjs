#!/usr/bin/env node
// Points the GitHub Action's major tag (v1 for 1.x.y) and its exact tag (v1.4.2) at a commit, so that
// `uses: OWNER/ferry@v1` gets the release. The version is the @ferry/github-action package's (changesets
// versions it with the other @ferry packages). Run by .github/workflows/release.yml after a release.
//
//   node scripts/move-action-tag.mjs [--commit REF] [--remote NAME] [--dry-run]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** `v1` for 1.4.2; a 0.x version has no stable major, so its tag is `v0.<minor>`. */
export function actionTags(version) {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) throw new Error(`@ferry/github-action's version '${version}' is not MAJOR.MINOR.PATCH; a prerelease does not move the action's tag`);
  const moving = m[1] === "0" ? `v0.${m[2]}` : `v${m[1]}`;
  return { moving, exact: `v${version}` };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();

function main() {
  const { values } = parseArgs({ options: { commit: { type: "string", default: "HEAD" }, remote: { type: "string", default: "origin" }, "dry-run": { type: "boolean", default: false } } });
  const root = new URL("..", import.meta.url).pathname;
  const git = (...args) => execFileSync("git", args, { cwd: process.cwd(), encoding: "utf8" }).trim();
  const { version } = JSON.parse(readFileSync(new URL("../apps/github-action/package.json", import.meta.url), "utf8"));
  const { moving, exact } = actionTags(version);
  const commit = git("rev-parse", "--verify", `${values.commit}^{commit}`);
  if (values["dry-run"]) {
    console.log(`would tag ${commit} as ${exact} and move ${moving} to it (in ${root})`);
    return;
  }
  // The exact tag is made once and never moved; the major tag follows the latest release.
  const existing = execFileSync("git", ["tag", "--list", exact], { encoding: "utf8" }).trim();
  if (!existing) git("tag", "-a", exact, "-m", `GitHub Action ${exact}`, commit);
  git("tag", "-f", "-a", moving, "-m", `GitHub Action ${moving} (${exact})`, commit);
  git("push", values.remote, `refs/tags/${exact}`);
  git("push", "--force", values.remote, `refs/tags/${moving}`);
  console.log(`${moving} -> ${exact} (${commit.slice(0, 7)})`);
}
