import { describe, expect, it } from "vitest";
import { parseEntrypoint, formatEntrypoint } from "./entrypoint.js";
import { FerryError } from "./errors.js";

function messageOf(value: unknown): string {
  try {
    parseEntrypoint(value);
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe("validation_failed");
    return (error as FerryError).message;
  }
  throw new Error(`expected ${JSON.stringify(value)} to be refused`);
}

const EXAMPLE = "use path/to/file.py:function or path/to/file.ts:function";

describe("parseEntrypoint", () => {
  it.each([
    ["flows/etl.py:run_etl", { path: "flows/etl.py", function: "run_etl", language: "python" }],
    ["src/flow.ts:main", { path: "src/flow.ts", function: "main", language: "node" }],
    ["src/flow.mts:main", { path: "src/flow.mts", function: "main", language: "node" }],
    ["dist/flow.js:$handler", { path: "dist/flow.js", function: "$handler", language: "node" }],
    ["flow.mjs:_run2", { path: "flow.mjs", function: "_run2", language: "node" }],
  ])("parses %s", (value, expected) => {
    expect(parseEntrypoint(value)).toEqual(expected);
  });

  it("accepts a dotted function path in Python (a method of a class or module attribute)", () => {
    expect(parseEntrypoint("flows/etl.py:Pipelines.nightly")).toEqual({ path: "flows/etl.py", function: "Pipelines.nightly", language: "python" });
  });

  it("refuses a dotted function path in JavaScript, which names one export", () => {
    expect(messageOf("flows/etl.ts:jobs.nightly")).toBe("entrypoint 'flows/etl.ts:jobs.nightly': 'jobs.nightly' is not a valid function name");
  });

  it("drops a leading ./ and turns backslashes into slashes", () => {
    expect(parseEntrypoint("./flows/etl.py:run")).toEqual({ path: "flows/etl.py", function: "run", language: "python" });
    expect(parseEntrypoint("flows\\sub\\etl.py:run").path).toBe("flows/sub/etl.py");
  });

  it("splits on the last colon", () => {
    expect(parseEntrypoint("flows/a:b.py:run")).toEqual({ path: "flows/a:b.py", function: "run", language: "python" });
  });

  it.each([undefined, null, "", "   ", 42])("requires a value (%j)", (value) => {
    expect(messageOf(value)).toBe(`entrypoint is required; ${EXAMPLE}`);
  });

  it.each(["flows/etl.py", "flows/etl.py:", ":run"])("needs a file and a function (%s)", (value) => {
    expect(messageOf(value)).toBe(`entrypoint '${value}' must name a file and a function separated by ':'; ${EXAMPLE}`);
  });

  it.each(["/home/me/flows/etl.py:run", "C:\\flows\\etl.py:run", "c:/flows/etl.py:run"])("refuses the absolute path %s", (value) => {
    expect(messageOf(value)).toBe(`entrypoint '${value}' has an absolute path; give the file's path relative to the repository root`);
  });

  it.each(["../other/etl.py:run", "flows/../../etl.py:run", "flows\\..\\..\\etl.py:run"])("refuses %s, which leaves the repository", (value) => {
    expect(messageOf(value)).toBe(`entrypoint '${value}' points outside the repository ('..'); give a path inside it`);
  });

  it("allows names that merely start with two dots", () => {
    expect(parseEntrypoint("..flows/etl.py:run").path).toBe("..flows/etl.py");
  });

  it.each([
    ["flows/etl.rb:run", ".rb"],
    ["flows/etl.PY:run", ".PY"],
    ["flows/etl.cjs:run", ".cjs"],
    ["flows/Makefile:run", "(none)"],
  ])("refuses %s, naming its file type", (value, ext) => {
    expect(messageOf(value)).toBe(`entrypoint '${value}' has an unsupported file type '${ext}'; use a .py, .ts, .mts, .js or .mjs file`);
  });

  // The file type is the file's, not a directory's: `flows.v2/run` has none.
  it("takes the file type from the file name, not from a dotted directory", () => {
    expect(messageOf("flows.v2/run:main")).toBe(
      "entrypoint 'flows.v2/run:main' has an unsupported file type '(none)'; use a .py, .ts, .mts, .js or .mjs file",
    );
  });

  it.each(["flow.py:2run", "flow.py:run-etl", "flow.py:run etl", "flow.py:run.", "flow.py:.run", "flow.ts:main()"])(
    "refuses the function name in %s",
    (value) => {
      const fn = value.slice(value.lastIndexOf(":") + 1);
      expect(messageOf(value)).toBe(`entrypoint '${value}': '${fn}' is not a valid function name`);
    },
  );

  // `$` is legal in a JavaScript identifier but not in Python: such an entrypoint can only fail at run time.
  it("refuses a $ in a Python function name", () => {
    expect(messageOf("flows/etl.py:run$")).toBe("entrypoint 'flows/etl.py:run$': 'run$' is not a valid function name");
  });
});

describe("formatEntrypoint", () => {
  it("round-trips a parsed entrypoint", () => {
    for (const value of ["flows/etl.py:Pipelines.nightly", "src/flow.ts:main"]) expect(formatEntrypoint(parseEntrypoint(value))).toBe(value);
  });

  it("writes the normalised path", () => {
    expect(formatEntrypoint(parseEntrypoint("./flows\\etl.py:run"))).toBe("flows/etl.py:run");
  });
});
