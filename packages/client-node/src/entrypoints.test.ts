import { readFileSync } from "node:fs";
import { isFerryError, parseEntrypoint } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { discoverFunctions, entrypointFor, languageOf, relativeToRoot, type DiscoveredFunction } from "./entrypoints.js";

const example = (name: string): string => readFileSync(new URL(`../../../examples/flows/${name}`, import.meta.url), "utf8");
const names = (found: DiscoveredFunction[]): string[] => found.map((f) => f.name);
const py = (text: string): DiscoveredFunction[] => discoverFunctions(text, "python");
const ts = (text: string): DiscoveredFunction[] => discoverFunctions(text, "typescript");
const js = (text: string): DiscoveredFunction[] => discoverFunctions(text, "javascript");

describe("languageOf", () => {
  it("knows the extensions core's entrypoints accept", () => {
    expect(languageOf("flows/etl.py")).toBe("python");
    expect(languageOf("flows/hello.ts")).toBe("typescript");
    expect(languageOf("flows/hello.mts")).toBe("typescript");
    expect(languageOf("flows/hello.js")).toBe("javascript");
    expect(languageOf("flows/hello.mjs")).toBe("javascript");
    expect(languageOf("C:\\repo\\flows\\etl.py")).toBe("python");
  });

  it("returns null for what the engine cannot run", () => {
    for (const file of ["a.tsx", "a.cts", "a.cjs", "a.jsx", "a.pyi", "a.d.ts", "a.d.mts", "a.PY", "Makefile", ".py", "flows.py/readme", "ferry.yaml"]) {
      expect(languageOf(file), file).toBeNull();
    }
  });

  it("agrees with parseEntrypoint", () => {
    for (const file of ["a.py", "a.ts", "a.mts", "a.js", "a.mjs"]) {
      expect(languageOf(file)).not.toBeNull();
      expect(() => parseEntrypoint(`${file}:run`)).not.toThrow();
    }
    for (const file of ["a.tsx", "a.cts", "a.cjs"]) expect(() => parseEntrypoint(`${file}:run`)).toThrow();
  });
});

describe("discoverFunctions: Python", () => {
  it("finds the example flow", () => {
    expect(py(example("etl.py"))).toEqual([{ name: "etl", line: 6, async: false, parameters: ["day", "rows"], flow: false }]);
  });

  it("finds module-level def and async def, in source order", () => {
    const found = py(["import asyncio", "", "async def load(day):", "    await asyncio.sleep(0)", "", "def extract():", "    return 1", ""].join("\n"));
    expect(found).toEqual([
      { name: "load", line: 2, async: true, parameters: ["day"], flow: false },
      { name: "extract", line: 5, async: false, parameters: [], flow: false },
    ]);
  });

  it("leaves out nested functions, methods, conditional definitions and private names", () => {
    const text = [
      "def outer():",
      "    def inner():",
      "        pass",
      "    return inner",
      "class Pipelines:",
      "    def nightly(self):",
      "        pass",
      "    async def hourly(self):",
      "        pass",
      "if True:",
      "    def maybe():",
      "        pass",
      "def _helper():",
      "    pass",
      "def __dunder__():",
      "    pass",
      "lambda_flow = lambda: 1",
      "def last():",
      "    pass",
    ].join("\n");
    expect(names(py(text))).toEqual(["outer", "last"]);
  });

  it("notices decorators, flow ones included", () => {
    const text = [
      "from prefect import flow",
      "import prefect",
      "",
      "@flow",
      "def a(): ...",
      "",
      "@flow(name='b', retries=2)",
      "def b(): ...",
      "",
      "@prefect.flow",
      "async def c(): ...",
      "",
      "@flow(",
      "    name='d',  # a comment with a ) in it",
      "    log_prints=True,",
      ")",
      "# a comment between the decorator and the def",
      "",
      "def d(): ...",
      "",
      "@cache",
      "def e(): ...",
      "",
      "@flow_helper",
      "def f(): ...",
      "",
      "@flow",
      "class NotAFunction: ...",
      "def g(): ...",
      "",
      "@task",
      "@flow",
      "def h(): ...",
    ].join("\n");
    expect(py(text).map((f) => [f.name, f.line, f.flow])).toEqual([
      ["a", 4, true],
      ["b", 7, true],
      ["c", 10, true],
      ["d", 18, true],
      ["e", 21, false],
      ["f", 24, false],
      ["g", 28, false],
      ["h", 32, true],
    ]);
    expect(py(text).find((f) => f.name === "c")?.async).toBe(true);
  });

  it("reads multi-line signatures: the parameters a run can set by keyword", () => {
    const text = [
      "def etl(",
      "    day: str = '2026-11-01',  # the day, with a comment (and brackets)",
      "    rows: dict[str, int] = {'a': 1, 'b': 2},",
      "    *,",
      "    mode: 'Literal[\"a\", \"b\"]' = \"a\",",
      ") -> dict:",
      "    return {}",
      "def mixed(a, b, /, c, *args, d=1, **kwargs): ...",
      "def typed[T](value: T, items: list[T] = []): ...",
      "def continued \\",
      "        (x, y): ...",
    ].join("\n");
    expect(py(text)).toEqual([
      { name: "etl", line: 0, async: false, parameters: ["day", "rows", "mode"], flow: false },
      { name: "mixed", line: 7, async: false, parameters: ["c", "d"], flow: false },
      { name: "typed", line: 8, async: false, parameters: ["value", "items"], flow: false },
      { name: "continued", line: 9, async: false, parameters: ["x", "y"], flow: false },
    ]);
  });

  it("is not fooled by strings, docstrings and comments", () => {
    const text = [
      '"""Module docstring.',
      "",
      "def not_a_function():",
      "    pass",
      '"""',
      "# def commented_out():",
      "x = '''",
      "def also_not(): pass",
      "'''",
      'y = r"""def raw(): """',
      "z = '(' + \"[\"  # an open bracket in a string must not join the next lines",
      'w = f"{x["key"]} def fstring(): {{"  # Python 3.12 nested quotes',
      "b = b'\\'' ; s = 'it\\'s'",
      "def real(a='def fake(): pass', b=\"#\"):",
      '    """Docstring with',
      "def inside_docstring():",
      '    """',
      "    return a",
      "",
      "def after(): pass",
    ].join("\n");
    expect(py(text)).toEqual([
      { name: "real", line: 13, async: false, parameters: ["a", "b"], flow: false },
      { name: "after", line: 19, async: false, parameters: [], flow: false },
    ]);
  });

  it("keeps the last of two definitions of a name, as the module does when it runs", () => {
    const found = py(["@flow", "def run(a): ...", "def other(): ...", "def run(b): ..."].join("\n"));
    expect(found).toEqual([
      { name: "other", line: 2, async: false, parameters: [], flow: false },
      { name: "run", line: 3, async: false, parameters: ["b"], flow: false },
    ]);
  });

  it("gives the same lines with CRLF or CR line endings and a byte-order mark", () => {
    const lf = example("etl.py") + '\n@flow\nasync def later(\n    x,\n    y,\n):\n    """\ndef no(): pass\n"""\n';
    const expected = py(lf);
    expect(names(expected)).toEqual(["etl", "later"]);
    expect(py(lf.replace(/\n/g, "\r\n"))).toEqual(expected);
    expect(py(`\uFEFF${lf.replace(/\n/g, "\r")}`)).toEqual(expected);
  });

  it("copes with empty and unfinished files", () => {
    expect(py("")).toEqual([]);
    expect(py("def broken(a, b")).toEqual([{ name: "broken", line: 0, async: false, parameters: ["a", "b"], flow: false }]);
    expect(py('"""never closed\ndef f(): pass\n')).toEqual([]);
    expect(py("def \u00e9t\u00e9(): pass\ndef ok(): pass")).toEqual([{ name: "ok", line: 1, async: false, parameters: [], flow: false }]);
  });
});

describe("discoverFunctions: TypeScript and JavaScript", () => {
  it("finds the example flow", () => {
    expect(ts(example("hello.ts"))).toEqual([{ name: "hello", line: 1, async: true, parameters: ["name"], flow: false }]);
  });

  it("finds exported function declarations and function-valued constants", () => {
    const text = [
      "export function a(params: Params) {}",
      "export async function b({ day, rows = 3, range: { from } }: Params): Promise<void> {}",
      "export const c = (p) => p;",
      "export const d = async ({ x }: { x: number }) => x;",
      "export const e = function (p: { y?: string; readonly z: number; method(): void; [k: string]: unknown }) {};",
      "export const f = async function named() {};",
      "export let g = p => p, h = async p => p;",
      "export const i: Flow<Params, Result> = async (params): Promise<Result> => run(params);",
      "export const j = <T,>(value: T): T => value;",
      "export function k<T extends { id: string }>(this: void, item: { id: string; n: number }): T { return item as T; }",
      "export var l = async () => {",
      "  return 1;",
      "}",
      "export const m = () => 1",
      "export const n = () => 2",
    ].join("\n");
    expect(ts(text)).toEqual([
      { name: "a", line: 0, async: false, parameters: [], flow: false },
      { name: "b", line: 1, async: true, parameters: ["day", "rows", "range"], flow: false },
      { name: "c", line: 2, async: false, parameters: [], flow: false },
      { name: "d", line: 3, async: true, parameters: ["x"], flow: false },
      { name: "e", line: 4, async: false, parameters: ["y", "z"], flow: false },
      { name: "f", line: 5, async: true, parameters: [], flow: false },
      { name: "g", line: 6, async: false, parameters: [], flow: false },
      { name: "h", line: 6, async: true, parameters: [], flow: false },
      { name: "i", line: 7, async: true, parameters: [], flow: false },
      { name: "j", line: 8, async: false, parameters: [], flow: false },
      { name: "k", line: 9, async: false, parameters: ["id", "n"], flow: false },
      { name: "l", line: 10, async: true, parameters: [], flow: false },
      { name: "m", line: 13, async: false, parameters: [], flow: false },
      { name: "n", line: 14, async: false, parameters: [], flow: false },
    ]);
  });

  it("leaves out what is not an exported function", () => {
    const text = [
      "function local() {}",
      "const arrow = () => 1;",
      "export const value = 3;",
      "export const computed = (1 + 2);",
      "export const called = makeFlow(async () => 1);",
      "export const ternary = (x) ? a : b;",
      "export function* generator() {}",
      "export async function* asyncGenerator() {}",
      "export const generatorExpression = function* () {};",
      "export class Pipelines { static run() {} }",
      "export interface Params { day: string }",
      "export type Flow = (p: Params) => void;",
      "export declare function declared(): void;",
      "export enum Mode { A }",
      "export * from './other.js';",
      "export { fromElsewhere } from './other.js';",
      "export { value as alsoValue };",
      "export function outer() {",
      "  function nested() {}",
      "  return nested;",
      "}",
    ].join("\n");
    expect(names(ts(text))).toEqual(["outer"]);
  });

  it("follows export lists to local functions, under their exported names", () => {
    const text = [
      "function extract({ day }: { day: string }) {}",
      "async function load() {}",
      "const transform = async (rows: Row[]) => rows;",
      "const notAFunction = 1;",
      "export { extract, load as loadRows, transform as default, notAFunction, type Row, missing };",
      'export { extract as "not an identifier" };',
    ].join("\n");
    expect(ts(text)).toEqual([
      { name: "extract", line: 0, async: false, parameters: ["day"], flow: false },
      { name: "loadRows", line: 1, async: true, parameters: [], flow: false },
      { name: "default", line: 2, async: true, parameters: [], flow: false },
    ]);
  });

  it("offers a default export as `default`, the only name the engine finds it by", () => {
    expect(ts("export default async function hello(p: { name: string }) {}")).toEqual([
      { name: "default", line: 0, async: true, parameters: ["name"], flow: false },
    ]);
    expect(names(ts("export default function () {}"))).toEqual(["default"]);
    expect(names(ts("export default async ({ a }) => a;"))).toEqual(["default"]);
    expect(ts("async function run() {}\nexport default run;")).toEqual([{ name: "default", line: 0, async: true, parameters: [], flow: false }]);
    // `export default function named` also binds `named` in the module, so it can be listed under that name too.
    expect(names(ts("export default function named() {}\nexport { named };"))).toEqual(["default", "named"]);
    expect(names(ts("export default class Flows {}"))).toEqual([]);
    expect(names(ts("export default function* gen() {}"))).toEqual([]);
    expect(names(ts("export default 42;"))).toEqual([]);
    expect(names(ts("export default run(1);\nfunction run() {}"))).toEqual([]);
  });

  it("offers the function properties of a default-exported object, which the engine looks up by name", () => {
    const text = [
      "function etl() {}",
      "const load = async () => {};",
      "export default {",
      "  etl,",
      "  nightly: load,",
      "  async hourly({ at }: { at: string }) {},",
      "  daily() {},",
      "  inline: (p) => p,",
      "  value: 3,",
      "  unknown,",
      "};",
    ].join("\n");
    expect(ts(text)).toEqual([
      { name: "etl", line: 0, async: false, parameters: [], flow: false },
      { name: "nightly", line: 1, async: true, parameters: [], flow: false },
      { name: "hourly", line: 5, async: true, parameters: ["at"], flow: false },
      { name: "daily", line: 6, async: false, parameters: [], flow: false },
      { name: "inline", line: 7, async: false, parameters: [], flow: false },
    ]);
  });

  it("is not fooled by comments, strings, template literals and regular expressions", () => {
    const text = [
      "// export function lineComment() {}",
      "/* export function blockComment() {}",
      "   export const alsoComment = () => 1; */",
      'const s = "export function inDouble() {}";',
      "const t = 'export function inSingle() { \\' }';",
      "const u = `",
      "export function inTemplate() {}",
      "${`nested ${JSON.stringify({ a: '}' })} export function deeper() {}`}",
      "${(() => { return '`'; })()}",
      "`;",
      "const r = /export function inRegex() {}[/]\\//g;",
      "const division = 4 / 2 / 1;",
      "export function real(p: { a: string }) { return `${p.a}}}`; }",
      "export const afterAll = () => '/* not a comment */';",
    ].join("\n");
    expect(ts(text)).toEqual([
      { name: "real", line: 12, async: false, parameters: ["a"], flow: false },
      { name: "afterAll", line: 13, async: false, parameters: [], flow: false },
    ]);
  });

  it("lists an overloaded function once, at its first signature", () => {
    const text = ["export function run(p: A): void;", "export function run(p: B): void;", "export function run(p: A | B) {}"].join("\n");
    expect(ts(text)).toEqual([{ name: "run", line: 0, async: false, parameters: [], flow: false }]);
  });

  it("gives the same lines with CRLF line endings", () => {
    const lf = ["// first", "export async function a() {}", "", "/* two", "lines */", "export const b = () => `x", "y`;", "export function c() {}"].join("\n");
    const expected = ts(lf);
    expect(expected.map((f) => [f.name, f.line])).toEqual([
      ["a", 1],
      ["b", 5],
      ["c", 7],
    ]);
    expect(ts(lf.replace(/\n/g, "\r\n"))).toEqual(expected);
    expect(js(`\uFEFF${lf.replace(/\n/g, "\r\n")}`)).toEqual(expected);
  });

  it("reads JavaScript the same way, CommonJS exports included", () => {
    const text = [
      "#!/usr/bin/env node",
      "export async function esm({ name }) {}",
      "exports.run = async function (params) {};",
      "module.exports.other = ({ a, b }) => a + b;",
      "function helper() {}",
      "exports.aliased = helper;",
      "exports.value = 3;",
      "module.exports = { helper, extra: async () => {} };",
    ].join("\n");
    expect(js(text)).toEqual([
      { name: "esm", line: 1, async: true, parameters: ["name"], flow: false },
      { name: "run", line: 2, async: true, parameters: [], flow: false },
      { name: "other", line: 3, async: false, parameters: ["a", "b"], flow: false },
      { name: "aliased", line: 4, async: false, parameters: [], flow: false },
      { name: "helper", line: 4, async: false, parameters: [], flow: false },
      { name: "extra", line: 7, async: true, parameters: [], flow: false },
    ]);
    expect(names(js("module.exports = async function (p) {};"))).toEqual(["default"]);
    // TypeScript is bundled as an ES module: `exports.x` means nothing there.
    expect(names(ts("exports.run = async function () {};"))).toEqual([]);
  });

  it("copes with empty and unfinished files", () => {
    expect(ts("")).toEqual([]);
    expect(names(ts("export function broken(a"))).toEqual(["broken"]);
    expect(names(ts("export const x = `never closed ${"))).toEqual([]);
    expect(names(ts("/* never closed\nexport function f() {}"))).toEqual([]);
  });

  it("gives names that make valid entrypoints", () => {
    for (const f of [...ts(example("hello.ts")), ...ts("export default () => 1;\nexport const $ok_1 = () => 1;")]) {
      expect(() => parseEntrypoint(`flows/x.ts:${f.name}`)).not.toThrow();
    }
    for (const f of py(example("etl.py"))) expect(() => parseEntrypoint(`flows/x.py:${f.name}`)).not.toThrow();
  });
});

describe("entrypointFor", () => {
  it("joins a repository path and a function", () => {
    expect(entrypointFor("examples/flows/etl.py", "etl")).toBe("examples/flows/etl.py:etl");
    expect(entrypointFor("examples\\flows\\hello.ts", "hello")).toBe("examples/flows/hello.ts:hello");
    expect(entrypointFor("./flows/a.mjs", "default")).toBe("flows/a.mjs:default");
    expect(entrypointFor("././flows/a.py", "run")).toBe("flows/a.py:run");
    expect(entrypointFor("a.py", "Pipelines.nightly")).toBe("a.py:Pipelines.nightly");
  });

  it("throws core's validation error for what cannot be an entrypoint", () => {
    for (const [path, fn] of [
      ["../outside.py", "run"],
      ["/abs/a.py", "run"],
      ["C:\\repo\\a.py", "run"],
      ["a.tsx", "run"],
      ["a.py", "not-valid"],
      ["a.py", ""],
      ["a.ts", "a.b"],
    ] as const) {
      let error: unknown;
      try {
        entrypointFor(path, fn);
      } catch (e) {
        error = e;
      }
      expect(isFerryError(error, "validation_failed"), `${path}:${fn}`).toBe(true);
    }
  });
});

describe("relativeToRoot", () => {
  it("gives the POSIX path inside the root", () => {
    expect(relativeToRoot("/work/repo", "/work/repo/flows/etl.py")).toBe("flows/etl.py");
    expect(relativeToRoot("/work/repo/", "/work/repo/etl.py")).toBe("etl.py");
    expect(relativeToRoot("/work/repo", "/work/repo/./flows/../flows/etl.py")).toBe("flows/etl.py");
    expect(relativeToRoot("/", "/etl.py")).toBe("etl.py");
  });

  it("returns null outside the root, and for the root itself", () => {
    expect(relativeToRoot("/work/repo", "/work/other/etl.py")).toBeNull();
    expect(relativeToRoot("/work/repo", "/work/repo2/etl.py")).toBeNull();
    expect(relativeToRoot("/work/repo", "/work/repo/../etl.py")).toBeNull();
    expect(relativeToRoot("/work/repo", "/work/repo")).toBeNull();
    expect(relativeToRoot("/work/repo", "/work")).toBeNull();
    // Case matters on POSIX file systems.
    expect(relativeToRoot("/work/Repo", "/work/repo/etl.py")).toBeNull();
  });

  it("normalises Windows paths", () => {
    expect(relativeToRoot("c:\\Users\\me\\repo", "C:\\Users\\me\\repo\\flows\\etl.py")).toBe("flows/etl.py");
    expect(relativeToRoot("C:\\Users\\me\\repo\\", "c:/users/ME/repo/flows/Etl.py")).toBe("flows/Etl.py");
    expect(relativeToRoot("C:\\repo", "D:\\repo\\etl.py")).toBeNull();
    expect(relativeToRoot("C:\\repo", "C:\\repository\\etl.py")).toBeNull();
    expect(relativeToRoot("\\\\server\\share\\repo", "\\\\server\\share\\repo\\flows\\a.py")).toBe("flows/a.py");
    expect(relativeToRoot("\\\\server\\share\\repo", "\\\\other\\share\\repo\\flows\\a.py")).toBeNull();
  });

  it("takes a relative file relative to the root", () => {
    expect(relativeToRoot("/work/repo", "flows/etl.py")).toBe("flows/etl.py");
    expect(relativeToRoot("C:\\repo", "flows\\etl.py")).toBe("flows/etl.py");
    expect(relativeToRoot("/work/repo", "../etl.py")).toBeNull();
  });

  it("feeds entrypointFor", () => {
    const path = relativeToRoot("C:\\work\\repo", "C:\\work\\repo\\examples\\flows\\etl.py");
    expect(path).not.toBeNull();
    expect(entrypointFor(path!, "etl")).toBe("examples/flows/etl.py:etl");
  });
});
