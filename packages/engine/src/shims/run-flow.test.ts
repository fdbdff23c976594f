import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SHIM_DIR = fileURLToPath(new URL(".", import.meta.url));

/**
 * The result/error file protocol of both shims, run as the engine runs them (real interpreters, no
 * engine): exit code, what lands in which file, what goes to stderr.
 */
function runShim(language: "python" | "node", dir: string, file: string, fn: string, parameters: unknown) {
  const params = join(dir, "params.json");
  const result = join(dir, `result-${fn}.json`);
  const error = join(dir, `error-${fn}.json`);
  rmSync(result, { force: true });
  rmSync(error, { force: true });
  writeFileSync(params, JSON.stringify(parameters));
  const [command, shim] = language === "python" ? ["python3", join(SHIM_DIR, "run-flow.py")] : [process.execPath, join(SHIM_DIR, "run-flow.mjs")];
  const run = spawnSync(command, [shim, file, fn, params, result, error], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
  const read = (p: string) => (existsSync(p) ? JSON.parse(readFileSync(p, "utf8")) : null);
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, result: read(result), error: read(error) };
}

// Python 3 is a prerequisite of the tests, as git is: the engine runs Python flows with it.
describe("run-flow.py", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-shim-py-"));
    writeFileSync(join(dir, "helper.py"), "def double(x):\n    return x * 2\n");
    writeFileSync(
      join(dir, "flow.py"),
      `import datetime, logging
from dataclasses import dataclass
from helper import double

log = logging.getLogger("flow")

@dataclass
class Point:
    x: int
    y: int

def add(a, b=1):
    log.info("adding")
    return double(a) + b

async def later(n):
    return {"n": n}

def when():
    return {"at": datetime.date(2026, 1, 2), "point": Point(1, 2), "tags": {"a"}}

def nan():
    return float("nan")

def raises():
    raise KeyError("missing")

def exits_zero():
    raise SystemExit(0)

class Jobs:
    @staticmethod
    def nightly():
        return "ran"
`,
    );
    writeFileSync(join(dir, "broken.py"), "import not_a_module_anywhere\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("calls the function with the parameters as keywords and writes its JSON result", () => {
    const r = runShim("python", dir, "flow.py", "add", { a: 20, b: 2 });
    expect(r).toMatchObject({ code: 0, result: { value: 42 }, error: null });
    expect(r.stderr).toContain("INFO flow: adding");
  });

  it("awaits a coroutine, and reaches a function through a class", () => {
    expect(runShim("python", dir, "flow.py", "later", { n: 3 }).result).toEqual({ value: { n: 3 } });
    expect(runShim("python", dir, "flow.py", "Jobs.nightly", {}).result).toEqual({ value: "ran" });
  });

  it("writes dates, dataclasses and sets the way a reader expects", () => {
    expect(runShim("python", dir, "flow.py", "when", {}).result).toEqual({ value: { at: "2026-01-02", point: { x: 1, y: 2 }, tags: ["a"] } });
  });

  it("reports the exception with its traceback, on stderr too", () => {
    const r = runShim("python", dir, "flow.py", "raises", {});
    expect(r.code).toBe(1);
    expect(r.error).toMatchObject({ kind: "exception", type: "KeyError", message: "'missing'" });
    expect(r.error.traceback).toContain('raise KeyError("missing")');
    expect(r.stderr).toContain("Traceback (most recent call last):");
  });

  it("tells a missing function, a missing file, an import failure and parameters that do not fit apart", () => {
    const missing = runShim("python", dir, "flow.py", "nope", {});
    expect(missing.code).toBe(3);
    expect(missing.error).toMatchObject({ kind: "function_not_found", message: "function 'nope' was not found in flow.py; it defines: add, exits_zero, later, nan, raises, when" });
    expect(runShim("python", dir, "gone.py", "x", {})).toMatchObject({ code: 2, error: { kind: "file_not_found" } });
    expect(runShim("python", dir, "broken.py", "x", {})).toMatchObject({ code: 4, error: { kind: "load_failed", type: "ModuleNotFoundError" } });
    const bad = runShim("python", dir, "flow.py", "add", { c: 1 });
    expect(bad).toMatchObject({ code: 5, error: { kind: "bad_parameters" } });
    expect(bad.error.message).toBe("the parameters do not fit add(a, b=1): missing a required argument: 'a'");
  });

  it("refuses a result JSON cannot hold, and takes SystemExit(0) as a normal end", () => {
    expect(runShim("python", dir, "flow.py", "nan", {})).toMatchObject({ code: 6, error: { kind: "result_not_serializable" } });
    expect(runShim("python", dir, "flow.py", "exits_zero", {})).toMatchObject({ code: 0, result: { value: null } });
  });
});

describe("run-flow.mjs", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-shim-node-"));
    writeFileSync(
      join(dir, "flow.mjs"),
      `export async function add({ a, b }) { console.log("adding"); return a + b; }
export function nothing() {}
export function throws() { throw new RangeError("too far"); }
export function big() { return 10n; }
export default function main() { return "default"; }
`,
    );
    writeFileSync(join(dir, "broken.mjs"), "import 'not-a-package-anywhere';\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("calls the function with the parameters object and writes its JSON result", () => {
    const r = runShim("node", dir, "flow.mjs", "add", { a: 40, b: 2 });
    expect(r).toMatchObject({ code: 0, result: { value: 42 }, error: null });
    expect(r.stdout).toContain("adding");
    expect(runShim("node", dir, "flow.mjs", "nothing", {}).result).toEqual({ value: null });
    expect(runShim("node", dir, "flow.mjs", "default", {}).result).toEqual({ value: "default" });
  });

  it("reports a thrown error with its stack, prefixed so the engine logs it as an error", () => {
    const r = runShim("node", dir, "flow.mjs", "throws", {});
    expect(r.code).toBe(1);
    expect(r.error).toMatchObject({ kind: "exception", type: "RangeError", message: "too far" });
    expect(r.stderr.startsWith("ERROR RangeError: too far\n    at throws")).toBe(true);
  });

  it("tells a missing function, a missing file, an import failure and an unstorable result apart", () => {
    expect(runShim("node", dir, "flow.mjs", "nope", {})).toMatchObject({
      code: 3,
      error: { kind: "function_not_found", message: "function 'nope' was not found in flow.mjs; it exports: add, big, default, nothing, throws" },
    });
    expect(runShim("node", dir, "gone.mjs", "x", {})).toMatchObject({ code: 2, error: { kind: "file_not_found" } });
    expect(runShim("node", dir, "broken.mjs", "x", {})).toMatchObject({ code: 4, error: { kind: "load_failed" } });
    expect(runShim("node", dir, "flow.mjs", "big", {})).toMatchObject({ code: 6, error: { kind: "result_not_serializable" } });
  });

  it("is plain JavaScript the image's node runs as it is (no TypeScript syntax)", () => {
    expect(() => execFileSync(process.execPath, ["--check", join(SHIM_DIR, "run-flow.mjs")])).not.toThrow();
  });
});

// The built shims (npm run build): the Python SDK sits beside run-flow.py there, as in the image.
const BUILT_SHIM_DIR = fileURLToPath(new URL("../../dist/shims/", import.meta.url));

describe("run-flow.py with a flow decorated by the Python SDK's @ferry.flow", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-shim-sdk-"));
    writeFileSync(
      join(dir, "flows.py"),
      `import os
import ferry
from ferry import flow

@ferry.flow(name="adder", retries=2)
def add(a: int, b: int = 1) -> int:
    count = os.path.join(os.getcwd(), "attempts")
    n = int(open(count).read()) + 1 if os.path.exists(count) else 1
    open(count, "w").write(str(n))
    if n < 3:
        raise RuntimeError(f"attempt {n} fails")
    return a + b

@flow
async def later(n: int):
    return {"n": n}

def plain():
    return "plain"
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (fn: string, parameters: unknown) => {
    const params = join(dir, "params.json");
    const result = join(dir, "result.json");
    const error = join(dir, "error.json");
    rmSync(result, { force: true });
    rmSync(error, { force: true });
    writeFileSync(params, JSON.stringify(parameters));
    const r = spawnSync("python3", [join(BUILT_SHIM_DIR, "run-flow.py"), "flows.py", fn, params, result, error], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
    const read = (p: string) => (existsSync(p) ? JSON.parse(readFileSync(p, "utf8")) : null);
    return { code: r.status, stderr: r.stderr, result: read(result), error: read(error) };
  };

  it("imports ferry without installing it, and runs the decorated function with its retries", () => {
    rmSync(join(dir, "attempts"), { force: true });
    const r = run("add", { a: 40, b: 2 });
    expect(r, r.stderr).toMatchObject({ code: 0, result: { value: 42 }, error: null });
    expect(r.stderr).toContain("flow 'adder' failed (attempt 1 of 3): RuntimeError: attempt 1 fails; retrying");
    expect(run("later", { n: 3 }).result).toEqual({ value: { n: 3 } });
  });

  it("checks the parameters against the signature and the type hints", () => {
    const missing = run("add", { b: 2 });
    expect(missing).toMatchObject({ code: 5, error: { kind: "bad_parameters" } });
    expect(missing.error.message).toBe("the parameters do not fit add(a: int, b: int = 1) -> int: missing a required argument: 'a'");
    const wrong = run("add", { a: "forty" });
    expect(wrong).toMatchObject({ code: 1, error: { kind: "exception", type: "TypeError", message: "flow 'adder': parameter 'a' must be int, got str ('forty')" } });
  });

  it("lists decorated functions when the entrypoint's function is missing", () => {
    expect(run("nope", {}).error.message).toBe("function 'nope' was not found in flows.py; it defines: add, later, plain");
  });
});
