import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** The pip requirement of the first-line flow. Not the bare `six` the Docker tests use: see `benchCacheKey`. */
export const PIP_REQUIREMENT = "six>=1";

/** Entrypoints of the flows in the bench's repository. */
export const FIRST_LINE = "flows/first_line.py:main";
export const SLEEPY = "flows/sleepy.py:main";

/**
 * The flows. `first_line` imports a pip package at the top, as real flows do, then prints before it does
 * anything else: that line is "the first line of flow code". `sleepy` holds its slot for about a second.
 */
export const FLOWS: Readonly<Record<string, string>> = {
  "flows/first_line.py": `import six


def main():
    print("first line of flow code", flush=True)
    return {"six": six.__version__}
`,
  "flows/sleepy.py": `import time


def main(seconds: float = 1.0):
    print("holding the slot", flush=True)
    time.sleep(seconds)
    return {"slept": seconds}
`,
};

/**
 * A git repository of `FLOWS` in a new temporary directory, committed on `main`. World-readable: a
 * Docker run's engine is an unprivileged user of its container and reads it through a bind mount.
 */
export function makeFlowRepository(files: Readonly<Record<string, string>> = FLOWS): string {
  const dir = mkdtempSync(join(tmpdir(), "ferry-bench-flows-"));
  try {
    chmodSync(dir, 0o755);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, dirname(path)), { recursive: true, mode: 0o755 });
      writeFileSync(join(dir, path), text, { mode: 0o644 });
    }
    const identity = ["-c", "user.name=ferry-bench", "-c", "user.email=bench@ferry.invalid", "-c", "commit.gpgsign=false"];
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    git("init", "-q", "-b", "main");
    git(...identity, "add", ".");
    git(...identity, "commit", "-qm", "bench flows");
    return dir;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not make the bench's git repository of flows: ${(error as Error).message}`);
  }
}
