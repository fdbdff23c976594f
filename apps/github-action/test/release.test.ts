import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse } from "yaml";

/** The release side of `uses: OWNER/ferry@v1`: the script that moves the action's tag, and the workflow that calls it. */
const REPO = resolve(import.meta.dirname, "../../..");
const SCRIPT = join(REPO, "scripts/move-action-tag.mjs");
const VERSION = (JSON.parse(readFileSync(join(REPO, "apps/github-action/package.json"), "utf8")) as { version: string }).version;

let dir: string;
const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd, encoding: "utf8", env: { ...process.env, GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" } }).trim();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ferry-action-release-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("tags the release exactly once and moves the major tag to each later release", async () => {
  const { actionTags } = (await import(SCRIPT)) as { actionTags: (v: string) => { moving: string; exact: string } };
  expect(actionTags("1.4.2")).toEqual({ moving: "v1", exact: "v1.4.2" });
  expect(actionTags("0.3.1")).toEqual({ moving: "v0.3", exact: "v0.3.1" });
  expect(() => actionTags("2.0.0-rc.1")).toThrow(/prerelease does not move/);

  const remote = join(dir, "remote.git");
  const work = join(dir, "work");
  git(dir, "init", "-q", "--bare", remote);
  git(dir, "clone", "-q", remote, work);
  writeFileSync(join(work, "a"), "1");
  git(work, "add", "a");
  git(work, "commit", "-qm", "one");
  const first = git(work, "rev-parse", "HEAD");
  const { moving, exact } = actionTags(VERSION);
  const tag = () => execFileSync(process.execPath, [SCRIPT, "--commit", "HEAD"], { cwd: work, encoding: "utf8", env: { ...process.env, GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" } });
  expect(tag()).toContain(`${moving} -> ${exact}`);
  const remoteTag = (name: string) => git(remote, "rev-parse", `refs/tags/${name}^{commit}`);
  expect([remoteTag(moving), remoteTag(exact)]).toEqual([first, first]);

  writeFileSync(join(work, "a"), "2");
  git(work, "commit", "-qam", "two");
  const second = git(work, "rev-parse", "HEAD");
  tag();
  expect(remoteTag(moving)).toBe(second);
  expect(remoteTag(exact)).toBe(first); // a released version's tag never moves
});

it("the release workflow versions and publishes with changesets, checks the bundle, then moves the action's tag", () => {
  const workflow = parse(readFileSync(join(REPO, ".github/workflows/release.yml"), "utf8")) as {
    on: { push: { branches: string[] } };
    permissions: Record<string, string>;
    jobs: { release: { steps: { uses?: string; run?: string; if?: string; id?: string }[] } };
  };
  expect(workflow.on.push.branches).toEqual(["main"]);
  expect(workflow.permissions).toMatchObject({ contents: "write", "id-token": "write" });
  const steps = workflow.jobs.release.steps;
  const at = (p: (s: (typeof steps)[number]) => boolean) => steps.findIndex(p);
  const check = at((s) => /git diff --exit-code -- action\.yml apps\/github-action\/dist/.test(s.run ?? ""));
  const changesets = at((s) => (s.uses ?? "").startsWith("changesets/action@"));
  const move = at((s) => (s.run ?? "").includes("node scripts/move-action-tag.mjs"));
  expect(check).toBeGreaterThan(-1);
  expect(changesets).toBeGreaterThan(check);
  expect(move).toBeGreaterThan(changesets);
  expect(steps[move]!.if).toBe(`steps.${steps[changesets]!.id}.outputs.published == 'true'`);
});
