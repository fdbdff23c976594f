import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asCloneUrl, gitDefaults, gitTopLevel, withoutCredentials, type GitRunner } from "./git.js";

describe("withoutCredentials", () => {
  it("removes a token from an https URL", () => {
    expect(withoutCredentials("https://x-access-token:ghs_abc@github.com/acme/flows.git")).toEqual({
      url: "https://github.com/acme/flows.git",
      hadCredentials: true,
    });
    expect(withoutCredentials("https://github.com/acme/flows.git").hadCredentials).toBe(false);
    expect(withoutCredentials("git@github.com:acme/flows.git")).toEqual({ url: "git@github.com:acme/flows.git", hadCredentials: false });
  });
});

describe("gitDefaults with a fake git", () => {
  const fake = (answers: Record<string, string | Error>): GitRunner => async (args) => {
    const answer = answers[args.join(" ")];
    if (answer === undefined || answer instanceof Error) throw answer ?? new Error(`unexpected: git ${args.join(" ")}`);
    return answer;
  };

  it("explains when git is missing or the directory is not a repository", async () => {
    const enoent = Object.assign(new Error("spawn git ENOENT"), { code: "ENOENT" });
    await expect(gitDefaults("/w", fake({ "rev-parse --is-inside-work-tree": enoent }))).rejects.toThrow(/git is not installed/);
    await expect(gitDefaults("/w", fake({ "rev-parse --is-inside-work-tree": new Error("fatal") }))).rejects.toThrow(
      /\/w is not inside a git repository.*--git-url/,
    );
    await expect(gitDefaults("/w", fake({ "rev-parse --is-inside-work-tree": "true", "remote get-url origin": new Error("no") }))).rejects.toThrow(
      /no 'origin' remote/,
    );
  });

  it("uses the commit when HEAD is detached", async () => {
    const result = await gitDefaults(
      "/w",
      fake({
        "rev-parse --is-inside-work-tree": "true",
        "remote get-url origin": "https://github.com/acme/flows.git",
        "symbolic-ref --quiet --short HEAD": new Error("detached"),
        "rev-parse HEAD": "0123456789abcdef0123456789abcdef01234567",
        "status --porcelain --untracked-files=no": "",
      }),
    );
    expect(result).toEqual({ source: { git_url: "https://github.com/acme/flows.git", commit: "0123456789abcdef0123456789abcdef01234567" }, warnings: [] });
  });
});

describe("gitDefaults in a real repository", () => {
  let dir: string;
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" });
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ferry-git-"));
    git("init", "-q", "-b", "feature");
    git("config", "user.email", "t@example.com");
    git("config", "user.name", "t");
    git("remote", "add", "origin", "https://user:secret@git.example.com/acme/flows.git");
    await writeFile(join(dir, "flow.py"), "print(1)\n");
    git("add", ".");
    git("commit", "-q", "-m", "one");
    await writeFile(join(dir, "flow.py"), "print(2)\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("takes origin and the branch, and warns about what runs will not see", async () => {
    const result = await gitDefaults(dir);
    expect(result.source).toEqual({ git_url: "https://git.example.com/acme/flows.git", branch: "feature" });
    expect(result.warnings.join("\n")).toMatch(/contains credentials/);
    expect(result.warnings.join("\n")).toMatch(/branch 'feature' has no upstream/);
    expect(result.warnings.join("\n")).toMatch(/uncommitted changes/);
    expect(result.warnings.join("\n")).not.toMatch(/secret/);
  });

  it("says when the directory is not a repository", async () => {
    await expect(gitDefaults(tmpdir())).rejects.toThrow(/not inside a git repository/);
  });
});

describe("asCloneUrl", () => {
  it("turns a local path remote into a file:// URL and leaves URLs alone", () => {
    expect(asCloneUrl("/work/main/.", "/tmp")).toBe("file:///work/main");
    expect(asCloneUrl("../repo", "/srv/checkout")).toBe("file:///srv/repo");
    expect(asCloneUrl("https://github.com/acme/flows.git", "/tmp")).toBe("https://github.com/acme/flows.git");
    expect(asCloneUrl("git@github.com:acme/flows.git", "/tmp")).toBe("git@github.com:acme/flows.git");
    expect(asCloneUrl("ssh://git@host/x.git", "/tmp")).toBe("ssh://git@host/x.git");
  });
});

describe("gitTopLevel", () => {
  it("is the top of the work tree from a folder inside it, and null outside one", async () => {
    const outside = await realpath(await mkdtemp(join(tmpdir(), "ferry-top-")));
    try {
      const repo = join(outside, "repo");
      await mkdir(join(repo, "flows", "deep"), { recursive: true });
      execFileSync("git", ["init", "-q", repo], { stdio: "pipe" });
      expect(await gitTopLevel(join(repo, "flows", "deep"))).toBe(repo);
      expect(await gitTopLevel(repo)).toBe(repo);
      expect(await gitTopLevel(outside, async () => Promise.reject(new Error("fatal: not a git repository")))).toBeNull();
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
