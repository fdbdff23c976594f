import { describe, expect, it } from "vitest";
import { describeExit, runProcess } from "./process.js";

const sh = (script: string, extra: Partial<Parameters<typeof runProcess>[0]> = {}) =>
  runProcess({ command: "sh", args: ["-c", script], cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, ...extra });

describe("runProcess", () => {
  it("streams both outputs line by line and keeps the last lines", async () => {
    const lines: string[] = [];
    const result = await sh("echo one; echo two >&2; printf 'no newline'; exit 3", { onLine: (l, s) => lines.push(`${s}:${l}`), tailLines: 2 });
    expect(result).toMatchObject({ exitCode: 3, signal: null, aborted: false });
    expect(lines).toEqual(expect.arrayContaining(["stdout:one", "stderr:two", "stdout:no newline"]));
    expect(result.tail).toHaveLength(2);
    expect(describeExit(result)).toBe("exited with code 3");
  });

  it("stops the process on abort: SIGTERM first", async () => {
    const stop = new AbortController();
    const running = sh("exec sleep 30", { signal: stop.signal });
    setTimeout(() => stop.abort(), 50);
    const result = await running;
    expect(result).toMatchObject({ aborted: true, signal: "SIGTERM" });
  });

  it("kills a process that ignores SIGTERM after the grace", async () => {
    const stop = new AbortController();
    const started = Date.now();
    const running = sh("trap '' TERM; echo ready; while true; do sleep 0.05; done", {
      signal: stop.signal,
      stopGraceMs: 200,
      onLine: (l) => l === "ready" && stop.abort(),
    });
    const result = await running;
    expect(result).toMatchObject({ aborted: true, signal: "SIGKILL" });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(describeExit(result)).toBe("was killed by SIGKILL");
  });

  it("does not wait for a background process that holds the output open", async () => {
    const started = Date.now();
    const result = await sh("sleep 4 & echo started");
    expect(result.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(3500);
  });

  it("rejects when the command cannot be started", async () => {
    await expect(runProcess({ command: "no-such-command-ferry", args: [], cwd: "/", env: {} })).rejects.toThrow(/ENOENT/);
  });
});
