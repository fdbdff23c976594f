import { readFileSync } from "node:fs";
import { compileSchema, isFerryError, parseEntrypoint, validateWithSchema } from "@ferry/core";
import { describe, expect, it } from "vitest";
import {
  discoverFunctions,
  entrypointFor,
  languageOf,
  relativeToRoot,
  type DiscoveredFunction,
  type FlowLanguage,
  type ParameterSchema,
} from "./entrypoints.js";

const example = (name: string): string => readFileSync(new URL(`../../../examples/flows/${name}`, import.meta.url), "utf8");
type Shape = Omit<DiscoveredFunction, "parameterSchema">;
const names = (found: Shape[]): string[] => found.map((f) => f.name);
/** What discovery finds, the parameter schemas aside (they have tests of their own below). */
const shapes = (found: DiscoveredFunction[]): Shape[] => found.map(({ parameterSchema: _schema, ...shape }) => shape);
const py = (text: string): Shape[] => shapes(discover(text, "python"));
const ts = (text: string): Shape[] => shapes(discover(text, "typescript"));
const js = (text: string): Shape[] => shapes(discover(text, "javascript"));

/** discoverFunctions, checking every schema it gives as the server will use it. */
function discover(text: string, language: FlowLanguage): DiscoveredFunction[] {
  const found = discoverFunctions(text, language);
  for (const f of found) if (f.parameterSchema) expectUsable(f.parameterSchema, `${f.name} in ${JSON.stringify(text.slice(0, 60))}`);
  return found;
}

/**
 * The schema compiles with core's Ajv (as the server compiles a deployment's `parameter_schema`), and its
 * defaults pass it: each on its own, and all filled in at once, as the server's Ajv does for a run that
 * leaves them out.
 */
function expectUsable(schema: ParameterSchema, what: string): void {
  expect(() => compileSchema(schema, what), what).not.toThrow();
  const defaults: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(schema.properties)) {
    if (!("default" in property)) continue;
    Object.defineProperty(defaults, key, { value: property.default, enumerable: true, writable: true, configurable: true });
    expect(() => validateWithSchema({ type: "object", properties: { [key]: property } }, { [key]: property.default }, `${what}: ${key}`)).not.toThrow();
  }
  const { required: _required, ...optional } = schema;
  expect(validateWithSchema(optional, {}, what)).toEqual(defaults);
}

/** The schema of the first function found. */
const schemaOf = (text: string, language: FlowLanguage): ParameterSchema | null => {
  const [first] = discover(text, language);
  expect(first, text).toBeDefined();
  return first!.parameterSchema;
};
const pySchema = (text: string): ParameterSchema | null => schemaOf(text, "python");
const tsSchema = (text: string): ParameterSchema | null => schemaOf(text, "typescript");
const jsSchema = (text: string): ParameterSchema | null => schemaOf(text, "javascript");
/** The property of one Python parameter, `x: int = 3`, and whether it is required. */
function pyParam(parameter: string): { property: Record<string, unknown>; required: boolean } {
  const name = /^\w+/.exec(parameter)![0];
  const schema = pySchema(`def f(${parameter}): pass`)!;
  expect(Object.keys(schema.properties)).toEqual([name]);
  return { property: schema.properties[name]!, required: schema.required?.includes(name) ?? false };
}
/** The property for a TypeScript member type, `rows: number[]`, without its title. */
function tsMember(type: string): Record<string, unknown> {
  const { title: _title, ...property } = tsSchema(`export function f(p: { x: ${type} }) {}`)!.properties.x!;
  return property;
}

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

describe("parameterSchema: Python", () => {
  it("describes the example flow", () => {
    expect(pySchema(example("etl.py"))).toEqual({
      type: "object",
      properties: {
        day: { title: "day", type: "string", default: "2026-11-01" },
        rows: { title: "rows", type: "integer", default: 3 },
      },
      additionalProperties: false,
    });
  });

  it("maps scalar annotations, and leaves what it does not know unconstrained", () => {
    expect(pyParam("x: str").property).toEqual({ title: "x", type: "string" });
    expect(pyParam("x: int").property).toEqual({ title: "x", type: "integer" });
    expect(pyParam("x: float").property).toEqual({ title: "x", type: "number" });
    expect(pyParam("x: bool").property).toEqual({ title: "x", type: "boolean" });
    expect(pyParam("x: datetime").property).toEqual({ title: "x", type: "string", format: "date-time" });
    expect(pyParam("x: datetime.datetime").property).toEqual({ title: "x", type: "string", format: "date-time" });
    expect(pyParam("x: date").property).toEqual({ title: "x", type: "string", format: "date" });
    expect(pyParam("x: datetime.date").property).toEqual({ title: "x", type: "string", format: "date" });
    expect(pyParam("x: uuid.UUID").property).toEqual({ title: "x", type: "string", format: "uuid" });
    for (const unconstrained of ["x", "x: Any", "x: typing.Any", "x: object", "x: Path", "x: pd.DataFrame", "x: Callable[[int], str]", "x: 1 + 2", "x: type[int]"]) {
      expect(pyParam(unconstrained).property, unconstrained).toEqual({ title: "x" });
    }
    expect(pyParam("x: int").required).toBe(true);
  });

  it("maps containers, with their items and values when those map", () => {
    const array = { title: "x", type: "array" };
    expect(pyParam("x: list").property).toEqual(array);
    expect(pyParam("x: List[int]").property).toEqual({ ...array, items: { type: "integer" } });
    expect(pyParam("x: list[str]").property).toEqual({ ...array, items: { type: "string" } });
    expect(pyParam("x: list[Any]").property).toEqual(array);
    expect(pyParam("x: tuple[int, ...]").property).toEqual({ ...array, items: { type: "integer" } });
    expect(pyParam("x: tuple[float, float]").property).toEqual({ ...array, items: { type: "number" } });
    expect(pyParam("x: tuple[int, str]").property).toEqual(array);
    expect(pyParam("x: Tuple").property).toEqual(array);
    expect(pyParam("x: set[str]").property).toEqual({ ...array, items: { type: "string" } });
    expect(pyParam("x: frozenset[int]").property).toEqual({ ...array, items: { type: "integer" } });
    expect(pyParam("x: Sequence[float]").property).toEqual({ ...array, items: { type: "number" } });
    expect(pyParam("x: collections.abc.Iterable[bool]").property).toEqual({ ...array, items: { type: "boolean" } });
    expect(pyParam("x: list[list[int]]").property).toEqual({ ...array, items: { type: "array", items: { type: "integer" } } });
    expect(pyParam("x: dict").property).toEqual({ title: "x", type: "object" });
    expect(pyParam("x: Dict[str, int]").property).toEqual({ title: "x", type: "object", additionalProperties: { type: "integer" } });
    expect(pyParam("x: dict[str, Any]").property).toEqual({ title: "x", type: "object" });
    expect(pyParam("x: Mapping[str, list[str]]").property).toEqual({
      title: "x",
      type: "object",
      additionalProperties: { type: "array", items: { type: "string" } },
    });
  });

  it("allows null for Optional[X], X | None and Union[X, None]", () => {
    const nullableString = { title: "x", type: ["string", "null"] };
    expect(pyParam("x: Optional[str]").property).toEqual(nullableString);
    expect(pyParam("x: typing.Optional[str]").property).toEqual(nullableString);
    expect(pyParam("x: str | None").property).toEqual(nullableString);
    expect(pyParam("x: None | str").property).toEqual(nullableString);
    expect(pyParam("x: Union[str, None]").property).toEqual(nullableString);
    expect(pyParam("x: Optional[str]").required).toBe(true); // None must still be passed: there is no default
    expect(pyParam("x: Optional[list[int]] = None").property).toEqual({ title: "x", type: ["array", "null"], items: { type: "integer" }, default: null });
    expect(pyParam("x: Optional[datetime]").property).toEqual({ title: "x", type: ["string", "null"], format: "date-time" });
    expect(pyParam('x: Optional[Literal["a", "b"]]').property).toEqual({ title: "x", enum: ["a", "b", null] });
    expect(pyParam("x: Optional[Any]").property).toEqual({ title: "x" });
    expect(pyParam("x: Optional[int | str]").property).toEqual({ title: "x", anyOf: [{ type: "integer" }, { type: "string" }, { type: "null" }] });
  });

  it("gives other unions of mapped types as anyOf, and leaves unions with an unknown member unconstrained", () => {
    const intOrString = { title: "x", anyOf: [{ type: "integer" }, { type: "string" }] };
    expect(pyParam("x: Union[int, str]").property).toEqual(intOrString);
    expect(pyParam("x: int | str").property).toEqual(intOrString);
    expect(pyParam("x: int | str | int").property).toEqual(intOrString);
    expect(pyParam("x: int | list[str]").property).toEqual({ title: "x", anyOf: [{ type: "integer" }, { type: "array", items: { type: "string" } }] });
    expect(pyParam("x: Union[int, Any]").property).toEqual({ title: "x" });
    expect(pyParam("x: int | Path").property).toEqual({ title: "x" });
  });

  it("maps Literal to enum", () => {
    expect(pyParam('x: Literal["a", \'b\', 1, -2, True, None]').property).toEqual({ title: "x", enum: ["a", "b", 1, -2, true, null] });
    expect(pyParam('x: typing.Literal["a"] = "a"').property).toEqual({ title: "x", enum: ["a"], default: "a" });
    expect(pyParam('x: Literal[Literal["a"], "b"]').property).toEqual({ title: "x", enum: ["a", "b"] });
    expect(pyParam('x: Literal["a"] | Literal["b"]').property).toEqual({ title: "x", enum: ["a", "b"] });
    expect(pyParam('x: Literal["a"] | int').property).toEqual({ title: "x", anyOf: [{ enum: ["a"] }, { type: "integer" }] });
    expect(pyParam("x: Literal[Color.RED]").property).toEqual({ title: "x" });
  });

  it("reads string annotations, module prefixes and Annotated", () => {
    expect(pyParam('x: "int"').property).toEqual({ title: "x", type: "integer" });
    expect(pyParam("x: 'Optional[\"str\"]'").property).toEqual({ title: "x", type: ["string", "null"] });
    expect(pyParam('x: list["float"]').property).toEqual({ title: "x", type: "array", items: { type: "number" } });
    expect(pyParam("x: typing.List[typing.Optional[int]]").property).toEqual({ title: "x", type: "array", items: { type: ["integer", "null"] } });
    expect(pyParam("x: t.Dict[str, t.Any]").property).toEqual({ title: "x", type: "object" });
    expect(pyParam('x: typing_extensions.Literal["a"]').property).toEqual({ title: "x", enum: ["a"] });
    expect(pyParam('x: Annotated[int, Field(ge=0), "meta"]').property).toEqual({ title: "x", type: "integer" });
    expect(pyParam("x: 'not valid ('").property).toEqual({ title: "x" });
  });

  it("records literal defaults as JSON, whatever the quotes", () => {
    const defaultOf = (parameter: string): unknown => pyParam(parameter).property.default;
    expect(defaultOf("x='single'")).toBe("single");
    expect(defaultOf('x="double"')).toBe("double");
    expect(defaultOf("x='''triple'''")).toBe("triple");
    expect(defaultOf('x="""triple "quoted" text"""')).toBe('triple "quoted" text');
    expect(defaultOf("x=''")).toBe("");
    expect(defaultOf('x=""""""')).toBe("");
    expect(defaultOf("x='it\\'s'")).toBe("it's");
    expect(defaultOf('x="tab\\there\\nline \\x41\\u00e9\\U0001F600 \\101 \\\\ \\q"')).toBe("tab\there\nline A\u00e9\u{1F600} A \\ \\q");
    expect(defaultOf('x=r"C:\\dir\\n"')).toBe("C:\\dir\\n");
    expect(defaultOf('x=u"unicode"')).toBe("unicode");
    expect(defaultOf('x=f"no fields"')).toBe("no fields");
    expect(defaultOf('x="implicit" \'concatenation\'')).toBe("implicitconcatenation");
    expect(defaultOf('x="a, b"')).toBe("a, b");
    expect(defaultOf('x="[(" ')).toBe("[(");
    expect(defaultOf('x=")]}"')).toBe(")]}");
    expect(defaultOf('x="# not a comment"')).toBe("# not a comment");
    expect(defaultOf('x="x = 1"')).toBe("x = 1");
    expect(defaultOf("x='''multi\nline'''")).toBe("multi\nline");
    expect(defaultOf("x=3")).toBe(3);
    expect(defaultOf("x=-3")).toBe(-3);
    expect(defaultOf("x=+3")).toBe(3);
    expect(defaultOf("x=- 3")).toBe(-3);
    expect(defaultOf("x=1_000_000")).toBe(1000000);
    expect(defaultOf("x=0x1F")).toBe(31);
    expect(defaultOf("x=0o17")).toBe(15);
    expect(defaultOf("x=0b101")).toBe(5);
    expect(defaultOf("x=1.5")).toBe(1.5);
    expect(defaultOf("x=-0.5")).toBe(-0.5);
    expect(defaultOf("x=.5")).toBe(0.5);
    expect(defaultOf("x=1e3")).toBe(1000);
    expect(defaultOf("x=2.5E-3")).toBe(0.0025);
    expect(defaultOf("x=-0")).toBe(0);
    expect(defaultOf("x=True")).toBe(true);
    expect(defaultOf("x=False")).toBe(false);
    expect(pyParam("x=None").property).toEqual({ title: "x", default: null });
    expect(defaultOf("x=[]")).toEqual([]);
    expect(defaultOf("x=[1, -2, 'three', [4, [5]], None]")).toEqual([1, -2, "three", [4, [5]], null]);
    expect(defaultOf("x=(1, 2)")).toEqual([1, 2]);
    expect(defaultOf("x=(1,)")).toEqual([1]);
    expect(defaultOf("x=()")).toEqual([]);
    expect(defaultOf("x=(1)")).toBe(1);
    expect(defaultOf('x={"a": 1, \'b\': [True, {"c": None}], "d, e": "f]"}')).toEqual({ a: 1, b: [true, { c: null }], "d, e": "f]" });
    expect(defaultOf("x={}")).toEqual({});
    expect(defaultOf("x={'a', 'b',}")).toEqual(["a", "b"]);
    expect(defaultOf("x=[1, 2,]")).toEqual([1, 2]);
  });

  it("makes a parameter with any default optional, recording only literal defaults", () => {
    for (const nonLiteral of [
      "x=datetime.now()",
      "x=DEFAULT_DAY",
      "x=os.environ['DAY']",
      "x=f'{day}'",
      "x=b'bytes'",
      "x=t'template {x}'",
      "x=1j",
      "x=lambda: 1",
      "x=-y",
      "x=[1, y]",
      "x={1: 'a'}",
      "x=1 + 2",
      "x=18446744073709551616",
      "x=1e400",
      "x=...",
      "x='\\N{BULLET}'",
      "x=set()",
      "x='a' b'b'",
    ]) {
      expect(pyParam(nonLiteral), nonLiteral).toEqual({ property: { title: "x" }, required: false });
    }
  });

  it("keeps a default only when it fits the annotation, and allows null for a None default", () => {
    expect(pyParam('rows: int = "3"')).toEqual({ property: { title: "rows", type: "integer" }, required: false });
    expect(pyParam("rows: int = 1.5").property).toEqual({ title: "rows", type: "integer" });
    expect(pyParam("rows: int = True").property).toEqual({ title: "rows", type: "integer" });
    expect(pyParam("ratio: float = 1").property).toEqual({ title: "ratio", type: "number", default: 1 });
    expect(pyParam("name: str = None").property).toEqual({ title: "name", type: ["string", "null"], default: null });
    expect(pyParam('mode: Literal["a", "b"] = None').property).toEqual({ title: "mode", enum: ["a", "b", null], default: null });
    expect(pyParam('mode: Literal["a", "b"] = "c"').property).toEqual({ title: "mode", enum: ["a", "b"] });
    expect(pyParam("tags: list[str] = [1]").property).toEqual({ title: "tags", type: "array", items: { type: "string" } });
    expect(pyParam('limits: dict[str, int] = {"a": "b"}').property).toEqual({ title: "limits", type: "object", additionalProperties: { type: "integer" } });
    expect(pyParam('day: date = "2026-11-01"').property).toEqual({ title: "day", type: "string", format: "date", default: "2026-11-01" });
    expect(pyParam('day: date = "2026-02-29"').property).toEqual({ title: "day", type: "string", format: "date" });
    expect(pyParam('day: date = "yesterday"').property).toEqual({ title: "day", type: "string", format: "date" });
    expect(pyParam('at: datetime = "2026-11-01T09:30:00Z"').property.default).toBe("2026-11-01T09:30:00Z");
    expect(pyParam('at: datetime = "2026-11-01T09:30:00+01:00"').property.default).toBe("2026-11-01T09:30:00+01:00");
    expect(pyParam('at: datetime = "2026-11-01T09:30:00"').property).toEqual({ title: "at", type: "string", format: "date-time" }); // no time zone
    expect(pyParam('x: int | str = "a"').property).toEqual({ title: "x", anyOf: [{ type: "integer" }, { type: "string" }], default: "a" });
  });

  it("requires the parameters without a default, refuses unknown keys unless there is **kwargs", () => {
    expect(pySchema("def f(a, b: int, c=1, *, d, e: str = 'x'): pass")).toEqual({
      type: "object",
      properties: { a: { title: "a" }, b: { title: "b", type: "integer" }, c: { title: "c", default: 1 }, d: { title: "d" }, e: { title: "e", type: "string", default: "x" } },
      required: ["a", "b", "d"],
      additionalProperties: false,
    });
    expect(pySchema("def f(a=1, b=2): pass")).toEqual({
      type: "object",
      properties: { a: { title: "a", default: 1 }, b: { title: "b", default: 2 } },
      additionalProperties: false,
    });
    expect(pySchema("def f(): pass")).toEqual({ type: "object", properties: {}, additionalProperties: false });
    expect(pySchema("def f(a: int, **kwargs): pass")).toEqual({ type: "object", properties: { a: { title: "a", type: "integer" } }, required: ["a"] });
    expect(pySchema("def f(**kwargs: Any): pass")).toEqual({ type: "object", properties: {} });
  });

  it("leaves out positional-only parameters and *args", () => {
    expect(pySchema("def f(a: int, b, /, c: str, *args: int, d: bool = False, **kwargs): pass")).toEqual({
      type: "object",
      properties: { c: { title: "c", type: "string" }, d: { title: "d", type: "boolean", default: false } },
      required: ["c"],
    });
    expect(pySchema("def f(a, /): pass")).toEqual({ type: "object", properties: {}, additionalProperties: false });
  });

  it("reads multi-line signatures with comments and decorators, in signature order", () => {
    const text = [
      "from prefect import flow",
      "",
      "@flow(",
      "    name='etl',  # a comment with a ) in it",
      "    retries=2,",
      ")",
      "@other_decorator",
      "async def etl(",
      "    day: str = '2026-11-01',  # the day, with a comment (and brackets, and a # inside)",
      "    rows: dict[str, int] = {'a': 1, 'b': [2, 3]},",
      "    note: str = \"a, b, (c\",  # ]",
      "    *,",
      "    mode: 'Literal[\"a\", \"b\"]' = \"a\",",
      "    limit: Optional[",
      "        int",
      "    ] = \\",
      "        -1,",
      ") -> dict:",
      "    return {}",
    ].join("\n");
    const [found] = discover(text, "python");
    expect(found).toMatchObject({ name: "etl", flow: true, async: true, parameters: ["day", "rows", "note", "mode", "limit"] });
    expect(found!.parameterSchema).toEqual({
      type: "object",
      properties: {
        day: { title: "day", type: "string", default: "2026-11-01" },
        rows: { title: "rows", type: "object", additionalProperties: { type: "integer" } },
        note: { title: "note", type: "string", default: "a, b, (c" },
        mode: { title: "mode", enum: ["a", "b"], default: "a" },
        limit: { title: "limit", type: ["integer", "null"], default: -1 },
      },
      additionalProperties: false,
    });
    expect(Object.keys(found!.parameterSchema!.properties)).toEqual(found!.parameters);
  });

  it("copes with CRLF, unfinished signatures, and names that are special in JavaScript", () => {
    expect(pySchema("def f(\r\n    a: int = 1,\r\n    b: str = 'x',\r\n):\r\n    pass\r\n")).toEqual({
      type: "object",
      properties: { a: { title: "a", type: "integer", default: 1 }, b: { title: "b", type: "string", default: "x" } },
      additionalProperties: false,
    });
    expect(pySchema("def broken(a: int, b: str = 'x")).toEqual({
      type: "object",
      properties: { a: { title: "a", type: "integer" }, b: { title: "b", type: "string" } },
      required: ["a"],
      additionalProperties: false,
    });
    // Ajv reads keys an object inherits (`{}.constructor`) as set: constraining them would refuse every run.
    const special = pySchema("def f(__proto__: int = 1, constructor: dict = {}, toString: str = 'x', ok: dict = {'__proto__': 2}): pass")!;
    expect(Object.keys(special.properties)).toEqual(["__proto__", "constructor", "toString", "ok"]);
    expect(Object.getPrototypeOf(special.properties)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(special))).toEqual({
      type: "object",
      properties: JSON.parse('{"__proto__": {"title": "__proto__"}, "constructor": {"title": "constructor"}, "toString": {"title": "toString"}, "ok": {"title": "ok", "type": "object"}}'),
      additionalProperties: false,
    });
    expect(tsSchema("export function f(p: { constructor: string; nested: { valueOf: number } }) {}")).toEqual({
      type: "object",
      properties: { constructor: { title: "constructor" }, nested: { title: "nested", type: "object", properties: { valueOf: {} }, required: ["valueOf"] } },
      required: ["constructor", "nested"],
    });
  });
});

describe("parameterSchema: TypeScript and JavaScript", () => {
  it("describes the example flow", () => {
    expect(tsSchema(example("hello.ts"))).toEqual({ type: "object", properties: { name: { title: "name", type: "string" } } });
  });

  it("reads an inline object type on the parameters object", () => {
    expect(tsSchema("export function f(params: { name?: string; rows: number; flag: boolean } = { rows: 1, flag: true }) {}")).toEqual({
      type: "object",
      properties: { name: { title: "name", type: "string" }, rows: { title: "rows", type: "number" }, flag: { title: "flag", type: "boolean" } },
      required: ["rows", "flag"],
    });
    expect(tsSchema("export const f = async (params?: { name: string }) => params;")).toEqual({
      type: "object",
      properties: { name: { title: "name", type: "string" } },
      required: ["name"],
    });
    expect(tsSchema("export function f(params: { name: string } | undefined) {}")!.properties).toEqual({ name: { title: "name", type: "string" } });
  });

  it("reads a destructuring pattern's type and its literal defaults", () => {
    expect(
      tsSchema(
        'export async function f({ day, rows = 3, name = "x", tags = [], opts = { deep: [1, -2] }, when = new Date(), extra }: { day: string; rows?: number; name: string; tags: string[]; opts: Record<string, number[]>; when: string; extra: number | undefined }) {}',
      ),
    ).toEqual({
      type: "object",
      properties: {
        day: { title: "day", type: "string" },
        rows: { title: "rows", type: "number", default: 3 },
        name: { title: "name", type: "string", default: "x" },
        tags: { title: "tags", type: "array", items: { type: "string" }, default: [] },
        opts: { title: "opts", type: "object", additionalProperties: { type: "array", items: { type: "number" } }, default: { deep: [1, -2] } },
        when: { title: "when", type: "string" },
        extra: { title: "extra", type: "number" },
      },
      required: ["day"],
    });
    // A key the type has and the pattern leaves out can still be passed; a default that does not fit is dropped.
    expect(tsSchema('export const f = ({ a = "1", ...rest }: { a?: number; b: string }) => rest;')).toEqual({
      type: "object",
      properties: { a: { title: "a", type: "number" }, b: { title: "b", type: "string" } },
      required: ["b"],
    });
  });

  it("maps member types", () => {
    expect(tsMember("string")).toEqual({ type: "string" });
    expect(tsMember("number")).toEqual({ type: "number" });
    expect(tsMember("boolean")).toEqual({ type: "boolean" });
    expect(tsMember("string[]")).toEqual({ type: "array", items: { type: "string" } });
    expect(tsMember("Array<number>")).toEqual({ type: "array", items: { type: "number" } });
    expect(tsMember("readonly boolean[]")).toEqual({ type: "array", items: { type: "boolean" } });
    expect(tsMember("ReadonlyArray<string>")).toEqual({ type: "array", items: { type: "string" } });
    expect(tsMember("number[][]")).toEqual({ type: "array", items: { type: "array", items: { type: "number" } } });
    expect(tsMember("(string | number)[]")).toEqual({ type: "array", items: { anyOf: [{ type: "string" }, { type: "number" }] } });
    expect(tsMember("unknown[]")).toEqual({ type: "array" });
    expect(tsMember("[string, number]")).toEqual({ type: "array" });
    expect(tsMember("Record<string, number>")).toEqual({ type: "object", additionalProperties: { type: "number" } });
    expect(tsMember("Record<string, unknown>")).toEqual({ type: "object" });
    expect(tsMember("object")).toEqual({ type: "object" });
    expect(tsMember("{ a: 1 | 2; b?: string }")).toEqual({ type: "object", properties: { a: { enum: [1, 2] }, b: { type: "string" } }, required: ["a"] });
    expect(tsMember("{ [key: string]: number }")).toEqual({ type: "object", properties: {} });
    expect(tsMember('"daily" | "hourly"')).toEqual({ enum: ["daily", "hourly"] });
    expect(tsMember("| 'a'\n  | 'b'")).toEqual({ enum: ["a", "b"] });
    expect(tsMember("1 | 2 | -3")).toEqual({ enum: [1, 2, -3] });
    expect(tsMember('"a" | 1 | true')).toEqual({ enum: ["a", 1, true] });
    expect(tsMember("string | null")).toEqual({ type: ["string", "null"] });
    expect(tsMember("null | number[]")).toEqual({ type: ["array", "null"], items: { type: "number" } });
    expect(tsMember('"a" | "b" | null')).toEqual({ enum: ["a", "b", null] });
    expect(tsMember("string | number")).toEqual({ anyOf: [{ type: "string" }, { type: "number" }] });
    expect(tsMember("string | number | null")).toEqual({ anyOf: [{ type: "string" }, { type: "number" }, { type: "null" }] });
    expect(tsMember("`prefix-${string}`")).toEqual({ type: "string" });
    for (const unconstrained of ["any", "unknown", "Date", "Map<string, number>", "() => void", "typeof x", "keyof T", "T['k']", "string | Date", "A extends B ? C : D", "{}"]) {
      expect(tsMember(unconstrained), unconstrained).toEqual({});
    }
  });

  it("makes `?` and `| undefined` keys optional, and leaves methods out", () => {
    expect(tsSchema("export function f(p: { a?: string; b: string | undefined; c: undefined | null | number; d: string; m(): void; n?(x: number): string }) {}")).toEqual({
      type: "object",
      properties: { a: { title: "a", type: "string" }, b: { title: "b", type: "string" }, c: { title: "c", type: ["number", "null"] }, d: { title: "d", type: "string" } },
      required: ["d"],
    });
  });

  it("reads multi-line object types, with or without separators", () => {
    const text = [
      "export async function f(p: {",
      "  name: string",
      "  readonly rows?: number",
      "  mode:",
      '    | "a"',
      '    | "b"',
      "  handler: (",
      "    x: number,",
      "  ) => void",
      "  'quoted-key': boolean,",
      "  nested: {",
      "    inner: string[]",
      "  }",
      "}) {}",
    ].join("\n");
    const [found] = discover(text, "typescript");
    expect(found!.parameterSchema).toEqual({
      type: "object",
      properties: {
        name: { title: "name", type: "string" },
        rows: { title: "rows", type: "number" },
        mode: { title: "mode", enum: ["a", "b"] },
        handler: { title: "handler" },
        "quoted-key": { title: "quoted-key", type: "boolean" },
        nested: { title: "nested", type: "object", properties: { inner: { type: "array", items: { type: "string" } } }, required: ["inner"] },
      },
      required: ["name", "mode", "handler", "quoted-key", "nested"],
    });
    expect(found!.parameters).toEqual(Object.keys(found!.parameterSchema!.properties));
  });

  it("follows interfaces and type aliases declared in the file, and gives null for names it cannot see", () => {
    const text = [
      "import type { Imported } from './types.js';",
      "interface Base { day: string }",
      "export interface Params extends Base {",
      "  rows?: number;",
      "  mode: Mode;",
      "}",
      "type Mode = 'a' | 'b'",
      "type Loose = Record<string, unknown>;",
      "type Both = Base & { extra: boolean };",
      "interface Tree { name: string; children: Tree[] }",
      "export function a(params: Params) {}",
      "export function b({ day = '2026-11-01' }: Partial<Params>) {}",
      "export function c(params: Both) {}",
      "export function d(params: Loose) {}",
      "export function e(params: Imported) {}",
      "export function f<T>(params: T) {}",
      "export function g(params: Params | Imported) {}",
      "export function h(tree: Tree) {}",
      "export function i(params: Generic<string>) {}",
      "type Generic<T> = { value: T };",
    ].join("\n");
    const schemas = Object.fromEntries(discover(text, "typescript").map((f) => [f.name, f.parameterSchema]));
    expect(schemas.a).toEqual({
      type: "object",
      properties: { day: { title: "day", type: "string" }, rows: { title: "rows", type: "number" }, mode: { title: "mode", enum: ["a", "b"] } },
      required: ["day", "mode"],
    });
    expect(schemas.b).toEqual({
      type: "object",
      properties: { day: { title: "day", type: "string", default: "2026-11-01" }, rows: { title: "rows", type: "number" }, mode: { title: "mode", enum: ["a", "b"] } },
    });
    expect(schemas.c).toEqual({
      type: "object",
      properties: { day: { title: "day", type: "string" }, extra: { title: "extra", type: "boolean" } },
      required: ["day", "extra"],
    });
    expect(schemas.d).toEqual({ type: "object", properties: {} });
    expect(schemas.e).toBeNull();
    expect(schemas.f).toBeNull();
    expect(schemas.g).toBeNull();
    expect(schemas.h!.properties.children).toMatchObject({ title: "children", type: "array", items: { type: "object", required: ["name", "children"] } });
    expect(schemas.i).toBeNull();
  });

  it("gives an empty object for no parameter or a type that says nothing of the keys", () => {
    const empty = { type: "object", properties: {} };
    expect(tsSchema("export function f() {}")).toEqual(empty);
    expect(tsSchema("export function f(this: Window) {}")).toEqual(empty);
    expect(tsSchema("export function f(this: Map<string, number>, p: { a: string }) {}")).toEqual({ type: "object", properties: { a: { title: "a", type: "string" } }, required: ["a"] });
    expect(jsSchema("export async function f() {}")).toEqual(empty);
    for (const type of ["any", "unknown", "object", "Record<string, unknown>", "{}", "{ [key: string]: string }"]) {
      expect(tsSchema(`export function f(params: ${type}) {}`), type).toEqual(empty);
    }
    expect(tsSchema("export function f({ a = 1 }: any) {}")).toEqual({ type: "object", properties: { a: { title: "a", default: 1 } } });
  });

  it("gives null when the parameter shows nothing", () => {
    expect(jsSchema("export function f(params) {}")).toBeNull();
    expect(jsSchema("export function f(params = {}) {}")).toBeNull();
    expect(jsSchema("export const f = params => params;")).toBeNull();
    expect(jsSchema("export const f = async params => params;")).toBeNull();
    expect(tsSchema("export function f(params) {}")).toBeNull();
    expect(tsSchema("export function f(...args: unknown[]) {}")).toBeNull();
    expect(tsSchema("export function f([a, b]: string[]) {}")).toBeNull();
    expect(tsSchema("export function f(p: string) {}")).toBeNull();
    expect(tsSchema("export function f(p: { a: string } | { b: number }) {}")).toBeNull();
    expect(tsSchema("export function f(p: { [K in Keys]: string }) {}")).toBeNull();
    expect(jsSchema("module.exports.run = async function (params) {};")).toBeNull();
  });

  it("reads an untyped JavaScript pattern's keys and literal defaults, requiring none", () => {
    expect(jsSchema('export async function f({ a = -1, b, c = "s\\u00e9\\n", d: renamed = [1, { e: null }], "f-g": h, i = `t`, j = compute(), k = undefined, ...rest }) {}')).toEqual({
      type: "object",
      properties: {
        a: { title: "a", default: -1 },
        b: { title: "b" },
        c: { title: "c", default: "s\u00e9\n" },
        d: { title: "d", default: [1, { e: null }] },
        "f-g": { title: "f-g" },
        i: { title: "i" },
        j: { title: "j" },
        k: { title: "k" },
      },
    });
    expect(jsSchema("exports.run = ({ day = '2026-11-01', rows = 0x10, big = 10n, sci = 1e3, neg = -0.5 }) => day;")).toEqual({
      type: "object",
      properties: {
        day: { title: "day", default: "2026-11-01" },
        rows: { title: "rows", default: 16 },
        big: { title: "big" },
        sci: { title: "sci", default: 1000 },
        neg: { title: "neg", default: -0.5 },
      },
    });
  });

  it("never sets additionalProperties, and gives every exported form a schema", () => {
    const text = [
      "function extract({ day }: { day: string }) {}",
      "export { extract };",
      "export default {",
      "  async hourly({ at }: { at: string }) {},",
      "  daily: (p: { n: number }) => p,",
      "};",
      "export const arrow = async ({ x = 1 }: { x?: number }): Promise<void> => {};",
      "export function overloaded(p: { a: string }): void;",
      "export function overloaded(p: { a: string; b?: number }) {}",
    ].join("\n");
    const found = discover(text, "typescript");
    expect(found.map((f) => [f.name, f.parameterSchema?.required ?? [], Object.keys(f.parameterSchema?.properties ?? {})])).toEqual([
      ["extract", ["day"], ["day"]],
      ["hourly", ["at"], ["at"]],
      ["daily", ["n"], ["n"]],
      ["arrow", [], ["x"]],
      ["overloaded", ["a"], ["a"]],
    ]);
    for (const f of found) expect(f.parameterSchema).not.toHaveProperty("additionalProperties");
  });
});
