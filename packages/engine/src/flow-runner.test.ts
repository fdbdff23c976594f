import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineError } from "./errors.js";
import { outcomeOfFlow, resolveEntrypoint, runFlow, type FlowErrorReport } from "./flow-runner.js";

const SHIM_DIR = fileURLToPath(new URL("./shims/", import.meta.url));

describe("resolveEntrypoint", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-entry-test-"));
    mkdirSync(join(dir, "flows"));
    writeFileSync(join(dir, "flows", "etl.py"), "def etl(): pass\n");
    writeFileSync(join(dir, "main.ts"), "export function main() {}\n");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("finds a Python or TypeScript file relative to the working directory", async () => {
    expect(await resolveEntrypoint("flows/etl.py:etl", dir)).toEqual({
      language: "python", path: "flows/etl.py", file: join(dir, "flows", "etl.py"), functionName: "etl", cwd: dir,
    });
    expect(await resolveEntrypoint("./main.ts:main", dir)).toMatchObject({ language: "node", path: "main.ts", functionName: "main" });
  });

  it("says which file is missing", async () => {
    await expect(resolveEntrypoint("flows/x.py:main", dir)).rejects.toMatchObject({
      code: "entrypoint_file_missing",
      message: "entrypoint file flows/x.py was not found in the repository",
    });
    // A directory is not a flow file.
    await expect(resolveEntrypoint("flows:main", dir)).rejects.toMatchObject({ code: "invalid_entrypoint" });
  });

  it("refuses entrypoints core refuses, with core's words", async () => {
    await expect(resolveEntrypoint("../outside.py:main", dir)).rejects.toMatchObject({ code: "invalid_entrypoint", message: expect.stringContaining("outside the repository") });
    await expect(resolveEntrypoint("flows/etl.rb:main", dir)).rejects.toMatchObject({ code: "invalid_entrypoint", message: expect.stringContaining("unsupported file type '.rb'") });
  });
});

describe("outcomeOfFlow", () => {
  const target = { path: "flows/etl.py", functionName: "etl" };
  const ok = { exitCode: 0, signal: null, aborted: false };
  const failed = { exitCode: 1, signal: null, aborted: false };
  const report = (kind: FlowErrorReport["kind"], type: string, message: string): FlowErrorReport => ({ kind, type, message, traceback: "Traceback …" });

  it("is COMPLETED with the value the function returned, null included", () => {
    expect(outcomeOfFlow(target, ok, { value: { rows: 3 } }, null)).toEqual({ kind: "completed", result: { rows: 3 } });
    expect(outcomeOfFlow(target, ok, { value: null }, null)).toEqual({ kind: "completed", result: null });
  });

  it("leaves a process killed from outside (SIGKILL, e.g. out of memory) to the server: crashed with code 'killed'", () => {
    const killed = outcomeOfFlow(target, { exitCode: null, signal: "SIGKILL", aborted: false }, null, null);
    expect(killed.kind).toBe("crashed");
    expect(killed.kind === "crashed" && killed.error.code).toBe("killed");
    expect(killed.kind === "crashed" && killed.error.message).toMatch(/memory limit/);
  });

  it("is FAILED naming the exception when the flow's code raised", () => {
    expect(outcomeOfFlow(target, failed, null, report("exception", "ValueError", "bad day"))).toEqual({ kind: "failed", message: "ValueError: bad day" });
    expect(outcomeOfFlow(target, failed, null, report("exception", "KeyboardInterrupt", ""))).toEqual({ kind: "failed", message: "KeyboardInterrupt" });
  });

  it("is FAILED when the parameters do not fit or the result cannot be stored: the user's code decides both", () => {
    const bad = outcomeOfFlow(target, { ...failed, exitCode: 5 }, null, report("bad_parameters", "TypeError", "the parameters do not fit etl(day): missing a required argument: 'day'"));
    expect(bad).toEqual({ kind: "failed", message: "the parameters do not fit etl(day): missing a required argument: 'day'" });
    expect(outcomeOfFlow(target, { ...failed, exitCode: 6 }, null, report("result_not_serializable", "TypeError", "cannot be stored")).kind).toBe("failed");
  });

  it("is CRASHED when the flow could not be loaded or found", () => {
    const crash = (r: FlowErrorReport) => {
      const o = outcomeOfFlow(target, failed, null, r);
      if (o.kind !== "crashed") throw new Error(`expected crashed, got ${o.kind}`);
      return o.error;
    };
    expect(crash(report("function_not_found", "AttributeError", "function 'nope' was not found in flows/etl.py; it defines: etl"))).toMatchObject({
      code: "function_missing",
      message: "function 'nope' was not found in flows/etl.py; it defines: etl",
    });
    expect(crash(report("file_not_found", "FileNotFoundError", "x"))).toMatchObject({ code: "entrypoint_file_missing", message: "entrypoint file flows/etl.py was not found in the repository" });
    expect(crash(report("load_failed", "ModuleNotFoundError", "No module named 'pandas'"))).toMatchObject({
      code: "load_failed",
      message: "could not load flows/etl.py: ModuleNotFoundError: No module named 'pandas'",
    });
  });

  it("is CRASHED when the process died without reporting anything", () => {
    const o = outcomeOfFlow(target, { exitCode: null, signal: "SIGSEGV", aborted: false }, null, null);
    expect(o).toEqual({ kind: "crashed", error: expect.any(EngineError) });
    expect(o.kind === "crashed" && o.error.message).toBe("the flow's process was killed by SIGSEGV before etl returned; see the run's logs");
    // A result file from a process that then exited non-zero is not trusted.
    expect(outcomeOfFlow(target, { exitCode: 3, signal: null, aborted: false }, { value: 1 }, null).kind).toBe("crashed");
  });

  it("is stopped, whatever the files say, when the engine stopped it", () => {
    expect(outcomeOfFlow(target, { exitCode: null, signal: "SIGTERM", aborted: true }, null, report("exception", "KeyboardInterrupt", ""))).toEqual({ kind: "stopped" });
  });
});

describe("runFlow's Python logging", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-log-level-test-"));
    writeFileSync(
      join(dir, "flow.py"),
      'import logging\nlog = logging.getLogger("etl")\ndef flow():\n    log.debug("details")\n    log.info("loaded")\n    return 1\n',
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const linesAt = async (level: string | undefined) => {
    const lines: string[] = [];
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin", ...(level ? { FERRY_LOG_LEVEL: level } : {}) };
    const target = await resolveEntrypoint("flow.py:flow", dir);
    await runFlow({ target, parameters: {}, scratchDir: dir, shimDir: SHIM_DIR, python: "python3", env, onLine: (line) => lines.push(line) });
    return lines;
  };

  it("keeps DEBUG records when the run's FERRY_LOG_LEVEL asks for them, and only then", async () => {
    expect(await linesAt("debug")).toEqual(expect.arrayContaining(["DEBUG etl: details", "INFO etl: loaded"]));
    const info = await linesAt(undefined);
    expect(info).toContain("INFO etl: loaded");
    expect(info.join("\n")).not.toContain("details");
    expect((await linesAt("nonsense")).join("\n")).not.toContain("details");
  }, 60_000);
});
