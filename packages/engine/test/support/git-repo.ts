import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

export interface TestRepo {
  dir: string;
  /** file:///… — what a deployment's source points at. */
  url: string;
  commit: string;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Ferry Test",
  GIT_AUTHOR_EMAIL: "test@ferry.invalid",
  GIT_COMMITTER_NAME: "Ferry Test",
  GIT_COMMITTER_EMAIL: "test@ferry.invalid",
};

export function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: dir, env: GIT_ENV, encoding: "utf8" }).trim();
}

/** A git repository with these files committed on `main`. */
export function makeRepo(dir: string, files: Record<string, string>): TestRepo {
  mkdirSync(dir, { recursive: true });
  git(dir, "init", "-q", "-b", "main");
  commitFiles(dir, files, "initial");
  return { dir, url: pathToFileURL(dir).href, commit: git(dir, "rev-parse", "HEAD") };
}

export function commitFiles(dir: string, files: Record<string, string>, message: string): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", message);
  return git(dir, "rev-parse", "HEAD");
}
