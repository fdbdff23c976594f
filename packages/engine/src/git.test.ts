import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cloneRepository, gitAuthEnv, localTrustArgs, sameHost } from "./git.js";
import type { ProcessOptions, ProcessResult } from "./process.js";

describe("gitAuthEnv", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-git-test-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("never prompts, and without credentials adds nothing else", async () => {
    expect(await gitAuthEnv(null, dir, { PATH: "/bin" })).toEqual({ PATH: "/bin", GIT_TERMINAL_PROMPT: "0" });
  });

  it("hands the token to git through an askpass script that reads it from the environment", async () => {
    const env = await gitAuthEnv({ username: null, token: "tok-123456" }, dir, { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "a.b", GIT_CONFIG_VALUE_0: "c" });
    expect(env).toMatchObject({
      FERRY_GIT_USERNAME: "x-access-token",
      FERRY_GIT_PASSWORD: "tok-123456",
      GIT_CONFIG_COUNT: "2",
      GIT_CONFIG_KEY_1: "credential.helper",
      GIT_CONFIG_VALUE_1: "",
    });
    const script = readFileSync(env.GIT_ASKPASS!, "utf8");
    expect(script).not.toContain("tok-123456");
    expect(statSync(env.GIT_ASKPASS!).mode & 0o777).toBe(0o700);
  });
});

describe("cloneRepository", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-clone-test-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const fakeGit = (answer: (args: readonly string[]) => Partial<ProcessResult> = () => ({})) => {
    const calls: { args: readonly string[]; env: Record<string, string> }[] = [];
    const run = async (o: ProcessOptions): Promise<ProcessResult> => {
      calls.push({ args: o.args, env: o.env });
      if (o.args[0] === "rev-parse") o.onLine?.("0123456789abcdef0123456789abcdef01234567", "stdout");
      return { exitCode: 0, signal: null, tail: [], aborted: false, ...answer(o.args.filter((a) => a !== "-c" && a !== "advice.detachedHead=false")) };
    };
    return { run, calls };
  };
  const request = (over: Partial<Parameters<typeof cloneRepository>[0]> = {}) => ({
    repository: "https://git.example.com/acme/flows.git",
    branch: "main",
    commit: null,
    destination: join(dir, "flows"),
    credentials: { username: "bot", token: "tok-SECRET-1" },
    scratchDir: join(dir, "scratch"),
    env: {},
    ...over,
  });

  it("clones one branch shallowly, and the token is in no argument", async () => {
    const { run, calls } = fakeGit();
    expect(await cloneRepository(request(), run)).toEqual({ commit: "0123456789abcdef0123456789abcdef01234567" });
    expect(calls[0]!.args).toEqual(["-c", "advice.detachedHead=false", "clone", "--depth", "1", "--no-tags", "--branch", "main", "--", "https://git.example.com/acme/flows.git", join(dir, "flows")]);
    for (const call of calls) expect(call.args.join(" ")).not.toContain("tok-SECRET-1");
    expect(calls[0]!.env.FERRY_GIT_PASSWORD).toBe("tok-SECRET-1");
    expect(existsSync(join(dir, "scratch"))).toBe(true);
  });

  it("fetches an exact commit alone, and falls back to the branch when the host will not serve it", async () => {
    const { run, calls } = fakeGit((args) => (args[0] === "fetch" && args.includes("--depth") ? { exitCode: 128, tail: ["error: Server does not allow request for unadvertised object"] } : {}));
    await cloneRepository(request({ commit: "abc1234" }), run);
    expect(calls.map((c) => c.args.filter((a) => a !== "-c" && a !== "advice.detachedHead=false").join(" "))).toEqual([
      "init -q",
      "remote add origin https://git.example.com/acme/flows.git",
      "fetch --depth 1 --no-tags origin abc1234",
      "fetch --no-tags origin main",
      "checkout -q --detach abc1234",
      "rev-parse HEAD",
    ]);
  });

  it("fails with git's last words, the URL shown without a password", async () => {
    const { run } = fakeGit(() => ({ exitCode: 128, tail: ["remote: Repository not found.", "fatal: repository 'https://git.example.com/x.git/' not found"] }));
    await expect(cloneRepository(request({ repository: "https://u:pw@git.example.com/x.git" }), run)).rejects.toMatchObject({
      code: "clone_failed",
      message: "could not clone https://u:***@git.example.com/x.git (branch main): git clone exited with code 128: remote: Repository not found. | fatal: repository 'https://git.example.com/x.git/' not found",
    });
  });

  it("lets a local repository's upload-pack trust a directory that another user owns", async () => {
    const { run, calls } = fakeGit();
    await cloneRepository(request({ repository: "file:///srv/repo", credentials: null }), run);
    expect(calls[0]!.args).toContain("--upload-pack");
    expect(localTrustArgs("https://x/y.git")).toEqual([]);
  });
});

describe("sameHost", () => {
  it("compares scheme and host, so the source's token goes nowhere else", () => {
    expect(sameHost("https://github.com/acme/a.git", "https://github.com/acme/b.git")).toBe(true);
    expect(sameHost("https://github.com/acme/a.git", "https://gitlab.com/acme/a.git")).toBe(false);
    expect(sameHost("http://github.com/acme/a.git", "https://github.com/acme/a.git")).toBe(false);
    expect(sameHost("git@github.com:acme/a.git", "git@github.com:acme/b.git")).toBe(true);
    expect(sameHost("file:///srv/a", "file:///srv/a")).toBe(false);
  });
});
