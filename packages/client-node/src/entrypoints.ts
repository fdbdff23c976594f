import { formatEntrypoint, parseEntrypoint } from "@ferry/core";

/**
 * Finds the functions of a flow file that the engine can run, without the editor and without a parser
 * for either language: a light scanner that knows strings, comments and brackets is enough to see the
 * top-level declarations, and keeps the extension's bundle small.
 *
 * What the engine calls (packages/engine/src/shims):
 * - Python (`run-flow.py`): an attribute of the imported module, called with the run's parameters as
 *   keyword arguments and awaited when it returns a coroutine. Offered: module-level `def` and
 *   `async def` whose name does not start with `_`.
 * - JavaScript and TypeScript (`run-flow.mjs`, TypeScript bundled by esbuild first): a named export, or
 *   the default export under the name `default`, or a function property of the default export; called
 *   with one argument, the parameters object, and awaited. `export default function hello` is reachable
 *   only as `default`: the shim looks `hello` up on the module and on the default export, finding neither.
 *
 * Each function also gets a JSON Schema of its parameters (`parameterSchema`), as `prefect deploy` derives
 * `parameter_openapi_schema` from a flow's signature: what a deploy stores as the deployment's
 * `parameter_schema`, against which the server checks every run's parameters (with core's `compileSchema`,
 * whose Ajv fills in defaults before checking, so a default recorded here always satisfies its own schema).
 */

export type FlowLanguage = "python" | "typescript" | "javascript";

export interface DiscoveredFunction {
  /** What goes after the `:` of the entrypoint (`default` for a default export). */
  name: string;
  /** 0-based line of the `def` (after any decorators) or of the statement that declares the function. */
  line: number;
  async: boolean;
  /**
   * The names a run's parameters can set. Python: the parameters that can be passed by keyword (not
   * `*args`, `**kwargs` or positional-only ones). JavaScript/TypeScript: the keys of the one parameters
   * object, when the signature shows them (a destructuring pattern or an inline object type); empty otherwise.
   */
  parameters: string[];
  /** Marked as a flow: a Python `@flow` / `@prefect.flow` decorator. Ferry needs no marker, so false when none. */
  flow: boolean;
  /**
   * A JSON Schema of the parameters object a run passes, from the signature's annotations and literal
   * defaults; null when the signature does not show it (a JavaScript parameter without a type, or a
   * TypeScript one typed by a name this file does not declare). Python: `additionalProperties: false`
   * unless the function takes `**kwargs`, since Python refuses unknown keywords. JavaScript/TypeScript:
   * extra keys are left allowed. Each property has a `title` (its name) and a `default` when the source's
   * default is a literal that fits the property's schema.
   */
  parameterSchema: ParameterSchema | null;
}

/** The JSON Schema of a flow's parameters object. */
export type ParameterSchema = {
  type: "object";
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
  additionalProperties?: false;
};

const LANGUAGES: Record<string, FlowLanguage> = {
  ".py": "python",
  ".ts": "typescript",
  ".mts": "typescript",
  ".js": "javascript",
  ".mjs": "javascript",
};

/** The flow language of a file, by the extensions core's `parseEntrypoint` accepts; null for anything else. */
export function languageOf(fileName: string): FlowLanguage | null {
  const base = fileName.slice(Math.max(fileName.lastIndexOf("/"), fileName.lastIndexOf("\\")) + 1);
  // Declaration files have no code to run.
  if (/\.d\.m?ts$/.test(base)) return null;
  const dot = base.lastIndexOf(".");
  return dot > 0 ? (LANGUAGES[base.slice(dot)] ?? null) : null;
}

/** The functions of `text` the engine can call as an entrypoint, in source order. */
export function discoverFunctions(text: string, language: FlowLanguage): DiscoveredFunction[] {
  // Line numbers count `\r\n` and a lone `\r` as one break, as the editor does.
  const source = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  return language === "python" ? discoverPython(source) : discoverScript(source, language === "javascript");
}

/** `flows/etl.py` and `etl` → `flows/etl.py:etl`; throws core's validation error when it is not a valid entrypoint. */
export function entrypointFor(repoRelativePath: string, fn: string): string {
  const path = repoRelativePath.replace(/\\/g, "/").replace(/^(?:\.\/)+/, "");
  return formatEntrypoint(parseEntrypoint(`${path}:${fn}`));
}

/**
 * The POSIX path of `file` relative to `root`, or null when the file is not inside it (or is the root
 * itself). Either may use `\` separators; Windows paths compare without regard to case, as the file
 * system does. A relative `file` is taken relative to `root`.
 */
export function relativeToRoot(root: string, file: string): string | null {
  const base = splitPath(root);
  const target = /^(?:[A-Za-z]:|[\\/])/.test(file) ? splitPath(file) : splitPath(`${root}/${file}`);
  const windows = base.windows || target.windows;
  const same = (a: string, b: string): boolean => (windows ? a.toLowerCase() === b.toLowerCase() : a === b);
  if (!same(base.prefix, target.prefix)) return null;
  if (target.parts.length <= base.parts.length) return null;
  if (!base.parts.every((part, i) => same(part, target.parts[i]!))) return null;
  return target.parts.slice(base.parts.length).join("/");
}

function splitPath(path: string): { prefix: string; parts: string[]; windows: boolean } {
  const windows = path.includes("\\") || /^[A-Za-z]:/.test(path);
  const normal = path.replace(/\\/g, "/");
  let prefix = "";
  let rest = normal;
  const drive = /^([A-Za-z]:)\/?/.exec(normal);
  const unc = /^\/\/([^/]+)\/([^/]+)/.exec(normal);
  if (drive) {
    prefix = drive[1]!.toUpperCase();
    rest = normal.slice(drive[0].length);
  } else if (unc) {
    prefix = `//${unc[1]}/${unc[2]}`;
    rest = normal.slice(unc[0].length);
  } else if (normal.startsWith("/")) {
    prefix = "/";
  }
  const parts: string[] = [];
  for (const part of rest.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return { prefix, parts, windows };
}

// ---------------------------------------------------------------------------------------------------
// Python

interface LogicalLine {
  /** 0-based line where the statement starts. */
  line: number;
  /** Columns of indentation of its first line: 0 at module level. */
  indent: number;
  /** The statement with comments removed, every string literal replaced by `""` and line breaks by spaces. */
  code: string;
  /** The source of each string literal (prefix and quotes included), by the index of its `""` in `code`. */
  strings: Map<number, string>;
}

const PY_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PY_STRING_PREFIX = /^(?:[rRbBuUfFtT]|[rR][bBfFtT]|[bBfFtT][rR])$/;
const FLOW_DECORATOR = /^(?:[A-Za-z_]\w*\s*\.\s*)*flow\s*(?:\(|$)/;

function discoverPython(source: string): DiscoveredFunction[] {
  const found = new Map<string, DiscoveredFunction>();
  let decorators: string[] = [];
  for (const { line, indent, code, strings } of pythonLogicalLines(source)) {
    if (indent > 0) {
      decorators = [];
      continue;
    }
    if (code.startsWith("@")) {
      decorators.push(code.slice(1).trim());
      continue;
    }
    const def = /^(async\s+)?def\s+([\p{L}\p{N}_]+)\s*/u.exec(code);
    const wasDecorated = decorators;
    decorators = [];
    if (!def) continue;
    const name = def[2]!;
    if (!PY_IDENTIFIER.test(name) || name.startsWith("_")) continue;
    let open = def[0].length;
    // Type parameters (Python 3.12): `def f[T](x: T)`.
    if (code[open] === "[") open = skipBalanced(code, open);
    while (code[open] === " ") open++;
    if (code[open] !== "(") continue;
    const end = skipBalanced(code, open);
    const close = code[end - 1] === ")" ? end - 1 : end; // an unfinished signature: what is there so far
    found.delete(name); // a later definition replaces the earlier one when the module runs
    found.set(name, {
      name,
      line,
      async: def[1] !== undefined,
      parameters: pythonParameters(code.slice(open + 1, close)),
      flow: wasDecorated.some((d) => FLOW_DECORATOR.test(d)),
      parameterSchema: pythonSchema(code, strings, open + 1, close),
    });
  }
  return [...found.values()].sort((a, b) => a.line - b.line);
}

/** The parameters that `fn(**parameters)` can set. */
function pythonParameters(list: string): string[] {
  let names: string[] = [];
  for (const raw of splitTopLevel(list, ",")) {
    const part = raw.trim();
    if (part === "") continue;
    if (part === "/") {
      names = []; // everything before `/` is positional-only
      continue;
    }
    if (part.startsWith("*")) continue;
    const name = /^[A-Za-z_]\w*/.exec(part);
    if (name) names.push(name[0]);
  }
  return names;
}

/** Index just past the bracket that closes the one at `open`. */
function skipBalanced(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    const c = code[i]!;
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return code.length;
}

function splitTopLevel(code: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === separator && depth === 0) {
      parts.push(code.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(code.slice(start));
  return parts;
}

/** Splits Python source into statements the way the tokenizer does: brackets and `\` join lines. */
function pythonLogicalLines(src: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let line = 0;
  let i = 0;
  let depth = 0;
  let current: LogicalLine | null = null;

  const scanString = (start: number, prefix: string): number => {
    const quote = src[start]!;
    const triple = src.startsWith(quote.repeat(3), start);
    const formatted = /[fFtT]/.test(prefix);
    let j = start + (triple ? 3 : 1);
    while (j < src.length) {
      const c = src[j]!;
      if (c === "\\") {
        if (src[j + 1] === "\n") line++;
        j += 2;
        continue;
      }
      if (c === "\n") {
        if (!triple) return j; // unterminated: Python would stop here too
        line++;
      }
      if (triple ? src.startsWith(quote.repeat(3), j) : c === quote) return j + (triple ? 3 : 1);
      if (formatted && c === "{") {
        if (src[j + 1] === "{") {
          j += 2;
          continue;
        }
        j = scanReplacementField(j + 1);
        continue;
      }
      j++;
    }
    return j;
  };

  // `{…}` of an f-string: code, which may hold strings of its own (even with the same quote, Python 3.12).
  const scanReplacementField = (start: number): number => {
    let nested = 1;
    let j = start;
    while (j < src.length && nested > 0) {
      const c = src[j]!;
      if (c === "'" || c === '"') {
        j = scanString(j, "");
        continue;
      }
      if (c === "\n") line++;
      if (c === "{" || c === "(" || c === "[") nested++;
      else if (c === "}" || c === ")" || c === "]") nested--;
      j++;
    }
    return j;
  };

  while (i < src.length) {
    if (current === null) {
      let col = 0;
      while (src[i] === " " || src[i] === "\t" || src[i] === "\f") {
        col++;
        i++;
      }
      if (i >= src.length) break;
      if (src[i] === "\n") {
        line++;
        i++;
        continue;
      }
      if (src[i] === "#") {
        while (i < src.length && src[i] !== "\n") i++;
        continue;
      }
      current = { line, indent: col, code: "", strings: new Map() };
    }
    const c = src[i]!;
    if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (c === "\\" && src[i + 1] === "\n") {
      current.code += " ";
      line++;
      i += 2;
      continue;
    }
    if (c === "\n") {
      line++;
      i++;
      if (depth > 0) current.code += " ";
      else {
        lines.push(current);
        current = null;
      }
      continue;
    }
    if (c === "'" || c === '"') {
      const start = i;
      i = scanString(i, "");
      current.strings.set(current.code.length, src.slice(start, i));
      current.code += '""';
      continue;
    }
    const word = /^[\p{L}\p{N}_]+/u.exec(src.slice(i, i + 200));
    if (word) {
      const after = src[i + word[0].length];
      if ((after === "'" || after === '"') && PY_STRING_PREFIX.test(word[0])) {
        const start = i;
        i = scanString(i + word[0].length, word[0]);
        current.strings.set(current.code.length, src.slice(start, i));
        current.code += '""';
      } else {
        current.code += word[0];
        i += word[0].length;
      }
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth = Math.max(0, depth - 1);
    current.code += c;
    i++;
  }
  if (current) lines.push(current);
  return lines;
}

// ---------------------------------------------------------------------------------------------------
// JavaScript and TypeScript

interface Token {
  kind: "id" | "punct" | "string" | "template" | "number" | "regex";
  value: string;
  line: number;
}

interface FunctionShape {
  async: boolean;
  parameters: string[];
  parameterSchema: ParameterSchema | null;
  line: number;
}

const JS_IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const REGEX_AFTER_WORD = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await"]);
const STATEMENT_START = new Set(["export", "import", "const", "let", "var", "function", "class", "async", "type", "interface", "enum", "declare", "namespace"]);

function discoverScript(source: string, commonJs: boolean): DiscoveredFunction[] {
  const tokens = tokenize(source);
  const at = (k: number): Token | undefined => tokens[k];
  const is = (k: number, value: string): boolean => {
    const t = tokens[k];
    return t !== undefined && (t.kind === "id" || t.kind === "punct") && t.value === value;
  };

  const locals = new Map<string, FunctionShape>();
  const exported: { name: string; shape: FunctionShape }[] = [];
  /** `export { a as b }`, `export default a`, `export default { a }`: resolved once every local is known. */
  const aliases: { local: string; name: string }[] = [];

  /** Index just past the bracket that closes the one at `k`. */
  const skipBalanced = (k: number): number => {
    let depth = 0;
    for (let j = k; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.kind !== "punct") continue;
      if (t.value === "(" || t.value === "[" || t.value === "{") depth++;
      else if (t.value === ")" || t.value === "]" || t.value === "}") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return tokens.length;
  };

  /** Index just past the `>` that closes the `<` at `k` (type parameters). */
  const skipAngles = (k: number): number => {
    let depth = 0;
    for (let j = k; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.kind !== "punct") continue;
      if (t.value === "(" || t.value === "[" || t.value === "{") j = skipBalanced(j) - 1;
      else if (t.value === "<") depth++;
      else if (t.value === ">") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return tokens.length;
  };

  /** The keys of the parameters object, from the first parameter of the list opened at `open`. */
  const parametersAt = (open: number): string[] => {
    const close = skipBalanced(open) - 1;
    let k = open + 1;
    if (is(k, "this")) {
      // TypeScript's `this` parameter is not passed.
      while (k < close && !is(k, ",")) k = is(k, "(") || is(k, "[") || is(k, "{") ? skipBalanced(k) : k + 1;
      k++;
    }
    if (k >= close) return [];
    if (is(k, "{")) return objectKeys(k);
    if (at(k)?.kind === "id" && !is(k, "...")) {
      let j = k + 1;
      if (is(j, "?")) j++;
      if (is(j, ":") && is(j + 1, "{")) {
        const type = objectType(j + 1);
        return type.kind === "object" ? type.members.map((m) => m.key) : [];
      }
    }
    return [];
  };

  /** Keys of a destructuring pattern `{ a, b = 1, c: d }`. */
  const objectKeys = (open: number): string[] => {
    const close = skipBalanced(open) - 1;
    const keys: string[] = [];
    let memberStart = true;
    for (let k = open + 1; k < close; k++) {
      const t = tokens[k]!;
      if (t.kind === "punct" && (t.value === "(" || t.value === "[" || t.value === "{")) {
        k = skipBalanced(k) - 1;
        memberStart = false;
        continue;
      }
      if (t.kind === "punct" && (t.value === "," || t.value === ";")) {
        memberStart = true;
        continue;
      }
      if (!memberStart) continue;
      memberStart = false;
      if (t.kind !== "id" && t.kind !== "string") continue;
      keys.push(t.value);
    }
    return keys;
  };

  /**
   * A function expression starting at `k`: `function (…) {…}`, `async (…) => …`, `x => …`, `<T>(…) => …`.
   * Generators are left out: the engine would store the generator object, not what it yields.
   */
  const functionAt = (k: number): FunctionShape | null => {
    const line = at(k)?.line ?? 0;
    let j = k;
    let isAsync = false;
    if (is(j, "async") && !is(j + 1, "=>") && !is(j + 1, "=") && !is(j + 1, ",") && !is(j + 1, ";")) {
      isAsync = true;
      j++;
    }
    if (is(j, "function")) {
      j++;
      if (is(j, "*")) return null;
      if (at(j)?.kind === "id" && !is(j, "(")) j++;
      if (is(j, "<")) j = skipAngles(j);
      return is(j, "(") ? { async: isAsync, ...signatureAt(j), line } : null;
    }
    // `x => …`: one parameter without a type.
    if (at(j)?.kind === "id" && is(j + 1, "=>")) return { async: isAsync, parameters: [], parameterSchema: null, line };
    if (is(j, "<")) j = skipAngles(j);
    if (!is(j, "(")) return null;
    const after = skipBalanced(j);
    if (is(after, "=>") || (is(after, ":") && arrowFollows(after))) return { async: isAsync, ...signatureAt(j), line };
    return null;
  };

  /** After `(…):`, a return type and then `=>`. */
  const arrowFollows = (colon: number): boolean => {
    for (let j = colon + 1; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.kind === "punct" && (t.value === "(" || t.value === "[" || t.value === "{")) j = skipBalanced(j) - 1;
      else if (t.kind === "punct" && t.value === "<") j = skipAngles(j) - 1;
      else if (t.kind === "punct" && t.value === "=>") return true;
      else if (t.kind === "punct" && (t.value === ";" || t.value === "=" || t.value === ",")) return false;
    }
    return false;
  };

  /** `function f(…)` / `async function f(…)` at `k`: its name and shape. */
  const declarationAt = (k: number): { name: string; shape: FunctionShape } | null => {
    const j = is(k, "async") ? k + 1 : k;
    if (!is(j, "function") || is(j + 1, "*")) return null;
    const name = at(j + 1);
    if (name?.kind !== "id") return null;
    const shape = functionAt(k);
    return shape ? { name: name.value, shape } : null;
  };

  /** `const a = …, b = …` from the `const` at `k`: the declarators whose value is a function. */
  const variablesAt = (k: number, firstLine: number): { name: string; shape: FunctionShape }[] => {
    const out: { name: string; shape: FunctionShape }[] = [];
    let j = k + 1;
    while (j < tokens.length) {
      const name = at(j);
      if (name?.kind !== "id") break;
      j++;
      if (is(j, "!")) j++;
      if (is(j, ":")) j = skipType(j + 1);
      if (!is(j, "=")) break;
      const shape = functionAt(j + 1);
      if (shape) out.push({ name: name.value, shape: { ...shape, line: out.length === 0 ? firstLine : name.line } });
      // On to the next declarator, or the end of the statement.
      j = endOfInitializer(j + 1);
      if (!is(j, ",")) break;
      j++;
    }
    return out;
  };

  /** Past a type annotation: up to the `=`, `,` or `;` outside brackets and angle brackets. */
  const skipType = (k: number): number => {
    let j = k;
    while (j < tokens.length) {
      const t = tokens[j]!;
      if (t.kind === "punct") {
        if (t.value === "(" || t.value === "[" || t.value === "{") {
          j = skipBalanced(j);
          continue;
        }
        if (t.value === "<") {
          j = skipAngles(j);
          continue;
        }
        if (t.value === "=" || t.value === "," || t.value === ";" || t.value === ")" || t.value === "]" || t.value === "}") return j;
      }
      j++;
    }
    return j;
  };

  /** The `,` or `;` that ends an initializer, or the first token of the next statement. */
  const endOfInitializer = (k: number): number => {
    let j = k;
    let line = at(k)?.line ?? 0;
    while (j < tokens.length) {
      const t = tokens[j]!;
      if (t.kind === "punct") {
        if (t.value === "(" || t.value === "[" || t.value === "{") {
          j = skipBalanced(j);
          line = at(j - 1)?.line ?? line;
          continue;
        }
        if (t.value === "," || t.value === ";" || t.value === ")" || t.value === "]" || t.value === "}") return j;
      } else if (t.kind === "id" && t.line > line && STATEMENT_START.has(t.value)) return j;
      line = t.line;
      j++;
    }
    return j;
  };

  /** `{ a, b: c, d() {}, async e() {} }`: the function properties of an object literal (the default export). */
  const objectFunctions = (open: number): void => {
    const close = skipBalanced(open) - 1;
    let k = open + 1;
    while (k < close) {
      const key = at(k);
      const next = k + 1;
      if (key?.kind === "id" && key.value === "async" && at(next)?.kind === "id" && is(next + 1, "(")) {
        exported.push({ name: at(next)!.value, shape: { async: true, ...signatureAt(next + 1), line: key.line } });
      } else if ((key?.kind === "id" || key?.kind === "string") && is(next, "(")) {
        exported.push({ name: key.value, shape: { async: false, ...signatureAt(next), line: key.line } });
      } else if (key?.kind === "id" && (is(next, ",") || next >= close)) {
        aliases.push({ local: key.value, name: key.value });
      } else if ((key?.kind === "id" || key?.kind === "string") && is(next, ":")) {
        const value = at(next + 1);
        const shape = functionAt(next + 1);
        if (shape) exported.push({ name: key.value, shape });
        else if (value?.kind === "id" && (is(next + 2, ",") || next + 2 >= close)) aliases.push({ local: value.value, name: key.value });
      }
      // On to the next property.
      while (k < close && !is(k, ",")) k = is(k, "(") || is(k, "[") || is(k, "{") ? skipBalanced(k) : k + 1;
      k++;
    }
  };

  const exportDefault = (k: number, line: number): void => {
    const shape = functionAt(k);
    if (shape) {
      exported.push({ name: "default", shape: { ...shape, line } });
      return;
    }
    if (is(k, "{")) {
      objectFunctions(k);
      return;
    }
    // `export default etl;`: a local function, exported under the name `default`.
    const value = at(k);
    const after = at(k + 1);
    if (value?.kind === "id" && !["function", "async", "class"].includes(value.value) && (!after || is(k + 1, ";") || after.line > value.line)) {
      aliases.push({ local: value.value, name: "default" });
    }
  };

  const exportList = (open: number): void => {
    const close = skipBalanced(open) - 1;
    // `export { a } from "./b"` re-exports what this file cannot show.
    if (is(close + 1, "from")) return;
    for (let k = open + 1; k < close; k++) {
      if (is(k, ",")) continue;
      if (is(k, "type") && at(k + 1)?.kind === "id" && !is(k + 1, "as")) {
        while (k < close && !is(k, ",")) k++;
        continue;
      }
      const local = at(k);
      if (local?.kind !== "id") continue;
      let name = local.value;
      if (is(k + 1, "as")) {
        name = at(k + 2)?.value ?? "";
        k += 2;
      }
      aliases.push({ local: local.value, name });
    }
  };

  // --- Parameter schemas ---------------------------------------------------------------------------

  /** Top-level `interface Name {…}` and `type Name = …` (not generic), for the types a signature names. */
  const typeDecls = new Map<string, TypeDecl[]>();

  /** Whether the token before a line break leaves the type unfinished (`|`, `:`, `=>`…). */
  const continues = (k: number): boolean => {
    const t = at(k);
    if (!t) return false;
    if (t.kind === "punct") return ["|", "&", ":", "=>", "<", ",", ".", "?", "(", "[", "{", "="].includes(t.value);
    return t.kind === "id" && ["keyof", "typeof", "readonly", "extends", "infer", "new", "is", "asserts", "unique"].includes(t.value);
  };

  /** A member of an object type starts at `k`: `name:`, `name?:`, `name(`, `readonly name`. */
  const startsMember = (k: number): boolean => {
    let j = k;
    if (is(j, "readonly") && (at(j + 1)?.kind === "id" || at(j + 1)?.kind === "string")) j++;
    const t = at(j);
    return t !== undefined && (t.kind === "id" || t.kind === "string" || t.kind === "number") && (is(j + 1, ":") || is(j + 1, "?") || is(j + 1, "("));
  };

  /** Ranges of `start..end` between top-level commas; `angles`: in a type, where `<…>` nests too. */
  const splitAt = (start: number, end: number, angles: boolean): [number, number][] => {
    const parts: [number, number][] = [];
    let from = start;
    for (let j = start; j < end; j++) {
      if (is(j, "(") || is(j, "[") || is(j, "{")) j = skipBalanced(j) - 1;
      else if (angles && is(j, "<")) j = skipAngles(j) - 1;
      else if (is(j, ",")) {
        parts.push([from, j]);
        from = j + 1;
      }
    }
    if (from < end) parts.push([from, end]);
    return parts;
  };

  /** The end of a type alias's type: its `;`, or a line starting the next statement. */
  const aliasEnd = (k: number): number => {
    let j = k;
    while (j < tokens.length) {
      const t = tokens[j]!;
      if (j > k && t.line > tokens[j - 1]!.line && t.kind === "id" && STATEMENT_START.has(t.value) && !continues(j - 1)) return j;
      if (is(j, ";") || is(j, ")") || is(j, "]") || is(j, "}")) return j;
      if (is(j, "(") || is(j, "[") || is(j, "{")) j = skipBalanced(j);
      else if (is(j, "<")) j = skipAngles(j);
      else j++;
    }
    return j;
  };

  {
    let level = 0;
    for (let k = 0; k < tokens.length; k++) {
      const t = tokens[k]!;
      if (t.kind === "punct") {
        if (t.value === "(" || t.value === "[" || t.value === "{") level++;
        else if (t.value === ")" || t.value === "]" || t.value === "}") level = Math.max(0, level - 1);
        continue;
      }
      const name = at(k + 1);
      if (level > 0 || t.kind !== "id" || is(k - 1, ".") || name?.kind !== "id") continue;
      let decl: TypeDecl | null = null;
      if (t.value === "interface" && (is(k + 2, "{") || is(k + 2, "extends"))) {
        let j = k + 2;
        let bases: [number, number][] = [];
        if (is(j, "extends")) {
          const start = j + 1;
          while (j < tokens.length && !is(j, "{")) j = is(j, "<") ? skipAngles(j) : j + 1;
          bases = splitAt(start, j, true);
        }
        if (is(j, "{")) decl = { kind: "interface", bases, body: j };
      } else if (t.value === "type" && is(k + 2, "=")) {
        decl = { kind: "alias", start: k + 3, end: aliasEnd(k + 3) };
      }
      if (decl) typeDecls.set(name.value, [...(typeDecls.get(name.value) ?? []), decl]);
    }
  }

  const OTHER: TsType = { kind: "other" };

  /** The type in tokens `start..end`; `other` for what this does not model, or when it does not span the range. */
  const parseType = (start: number, end: number): TsType => {
    let p = start;
    const union = (): TsType => {
      if (is(p, "|")) p++;
      const options = [intersection()];
      while (p < end && is(p, "|")) {
        p++;
        options.push(intersection());
      }
      return options.length === 1 ? options[0]! : { kind: "union", options };
    };
    const intersection = (): TsType => {
      if (is(p, "&")) p++;
      const parts = [postfix()];
      while (p < end && is(p, "&")) {
        p++;
        parts.push(postfix());
      }
      return parts.length === 1 ? parts[0]! : { kind: "intersection", parts };
    };
    const postfix = (): TsType => {
      let type = primary();
      while (p < end && is(p, "[")) {
        if (is(p + 1, "]")) {
          type = { kind: "array", element: type };
          p += 2;
        } else {
          p = skipBalanced(p); // an indexed access, `T["key"]`
          type = OTHER;
        }
      }
      return type;
    };
    /** After `(…)` of a function type: `=> R`, where R runs on as far as a type can. */
    const functionType = (): TsType => {
      if (is(p, "=>")) {
        p++;
        union();
      }
      return OTHER;
    };
    const primary = (): TsType => {
      const t = at(p);
      if (!t || p >= end) return OTHER;
      if (t.kind === "string") {
        p++;
        return { kind: "literal", value: jsUnescape(t.value) };
      }
      if (t.kind === "number" || ((t.value === "-" || t.value === "+") && t.kind === "punct" && at(p + 1)?.kind === "number")) {
        const negative = t.value === "-";
        if (t.kind === "punct") p++;
        const n = jsNumber(at(p)!.value);
        p++;
        return n === null ? OTHER : { kind: "literal", value: negative && n !== 0 ? -n : n };
      }
      if (t.kind === "template") {
        p++;
        return { kind: "template" };
      }
      if (is(p, "(")) {
        const close = skipBalanced(p);
        if (is(close, "=>")) {
          p = close;
          return functionType();
        }
        const inner = parseType(p + 1, close - 1);
        p = close;
        return inner;
      }
      if (is(p, "<") || is(p, "new") || (is(p, "abstract") && is(p + 1, "new"))) {
        // A generic function type or a constructor type.
        while (p < end && (is(p, "abstract") || is(p, "new"))) p++;
        if (is(p, "<")) p = skipAngles(p);
        if (is(p, "(")) p = skipBalanced(p);
        return functionType();
      }
      if (is(p, "{")) {
        const close = skipBalanced(p);
        const type = objectType(p);
        p = close;
        return type;
      }
      if (is(p, "[")) {
        p = skipBalanced(p);
        return { kind: "tuple" };
      }
      if (t.kind !== "id") return OTHER;
      p++;
      if (t.value === "typeof" || t.value === "keyof" || t.value === "unique" || t.value === "infer") {
        postfix();
        return OTHER;
      }
      if (t.value === "readonly") return postfix();
      if (t.value === "true" || t.value === "false") return { kind: "literal", value: t.value === "true" };
      if (TS_KEYWORDS.has(t.value)) return { kind: "keyword", name: t.value };
      let name = t.value;
      while (is(p, ".") && at(p + 1)?.kind === "id") {
        name += `.${at(p + 1)!.value}`;
        p += 2;
      }
      const args: TsType[] = [];
      if (is(p, "<")) {
        const close = skipAngles(p);
        for (const [s, e] of splitAt(p + 1, close - 1, true)) args.push(parseType(s, e));
        p = close;
      }
      return { kind: "ref", name, args };
    };
    const type = union();
    return p === end ? type : OTHER;
  };

  /** Where the member of an object type starting at `k` ends: `;`, `,`, the brace, or a new line starting a member. */
  const memberEnd = (k: number, close: number): number => {
    for (let j = k; j < close; j++) {
      if (j > k && tokens[j]!.line > tokens[j - 1]!.line && startsMember(j) && !continues(j - 1)) return j;
      if (is(j, ";") || is(j, ",")) return j;
      if (is(j, "(") || is(j, "[") || is(j, "{")) j = skipBalanced(j) - 1;
      else if (is(j, "<")) j = skipAngles(j) - 1;
    }
    return close;
  };

  /** The object type whose `{` is at `open`. Methods, call signatures and accessors are left out. */
  const objectType = (open: number): TsType => {
    const close = skipBalanced(open) - 1;
    const members: TsMember[] = [];
    let index = false;
    let k = open + 1;
    while (k < close) {
      if (is(k, ";") || is(k, ",")) {
        k++;
        continue;
      }
      const end = memberEnd(k, close);
      let j = k;
      k = Math.max(end, k + 1);
      if (is(j, "readonly") && j + 1 < end && !is(j + 1, ":") && !is(j + 1, "?") && !is(j + 1, "(")) j++;
      if (is(j, "[")) {
        if (is(j + 2, "in")) return OTHER; // a mapped type
        index = true;
        continue;
      }
      if ((is(j, "get") || is(j, "set")) && (at(j + 1)?.kind === "id" || at(j + 1)?.kind === "string") && is(j + 2, "(")) continue;
      const key = at(j);
      if (!key || (key.kind !== "id" && key.kind !== "string" && key.kind !== "number")) continue;
      j++;
      let optional = false;
      if (is(j, "?")) {
        optional = true;
        j++;
      }
      if (j >= end) members.push({ key: keyName(key), optional, type: null });
      else if (is(j, ":")) members.push({ key: keyName(key), optional, type: parseType(j + 1, end) });
    }
    return { kind: "object", members, index };
  };

  const declCache = new Map<string, TsType | null>();
  /** The type a name declared in this file stands for. */
  const declared = (name: string): TsType | null => {
    const cached = declCache.get(name);
    if (cached !== undefined) return cached;
    const decls = typeDecls.get(name);
    let type: TsType | null = null;
    if (decls) {
      const parts: TsType[] = [];
      for (const decl of decls) {
        if (decl.kind === "alias") parts.push(parseType(decl.start, decl.end));
        else {
          for (const [s, e] of decl.bases) parts.push(parseType(s, e));
          parts.push(objectType(decl.body));
        }
      }
      type = parts.length === 1 ? parts[0]! : { kind: "intersection", parts };
    }
    declCache.set(name, type);
    return type;
  };

  /** The members of an object type, through local names, intersections, `Partial`, `Required` and `Readonly`. */
  const objectShape = (type: TsType, depth: number): TsMember[] | null => {
    if (depth > MAX_DEPTH) return null;
    if (type.kind === "object") return type.members;
    if (type.kind === "intersection") {
      const all: TsMember[] = [];
      for (const part of type.parts) {
        const members = objectShape(part, depth + 1);
        if (!members) return null;
        all.push(...members);
      }
      return all;
    }
    if (type.kind !== "ref") return null;
    const inner = type.args[0];
    if ((type.name === "Partial" || type.name === "Required" || type.name === "Readonly") && type.args.length === 1 && inner) {
      const members = objectShape(inner, depth + 1);
      if (!members || type.name === "Readonly") return members;
      return members.map((m) => ({ ...m, optional: type.name === "Partial" }));
    }
    const local = type.args.length === 0 ? declared(type.name) : null;
    return local ? objectShape(local, depth + 1) : null;
  };

  /** A type that says nothing of the keys: `any`, `unknown`, `object`, `Record<…>`, `{}`. */
  const isLoose = (type: TsType, depth: number): boolean => {
    if (depth > MAX_DEPTH) return false;
    if (type.kind === "keyword") return type.name === "any" || type.name === "unknown" || type.name === "object";
    if (type.kind === "object") return type.members.length === 0;
    if (type.kind !== "ref") return false;
    if (type.name === "Record" || type.name === "Object") return true;
    const local = type.args.length === 0 ? declared(type.name) : null;
    return local !== null && isLoose(local, depth + 1);
  };

  /** `T | undefined`: a key that may be left out. */
  const mayBeUndefined = (type: TsType): boolean =>
    (type.kind === "keyword" && (type.name === "undefined" || type.name === "void")) || (type.kind === "union" && type.options.some(mayBeUndefined));

  const tsSchema = (type: TsType, depth: number): Schema => {
    if (depth > MAX_DEPTH) return {};
    switch (type.kind) {
      case "keyword":
        return type.name === "string" || type.name === "number" || type.name === "boolean" || type.name === "null" || type.name === "object"
          ? { type: type.name }
          : {};
      case "literal":
        return { enum: [type.value] };
      case "template":
        return { type: "string" };
      case "array":
        return arrayOf(tsSchema(type.element, depth + 1));
      case "tuple":
        return { type: "array" };
      case "object":
        return type.members.length === 0 && !type.index ? {} : membersSchema(type.members, depth + 1);
      case "intersection": {
        const members = objectShape(type, depth);
        return members ? membersSchema(members, depth + 1) : {};
      }
      case "union": {
        let nullable = false;
        const options: Schema[] = [];
        for (const option of type.options) {
          if (option.kind === "keyword" && (option.name === "undefined" || option.name === "void")) continue;
          if (option.kind === "keyword" && option.name === "null") nullable = true;
          else options.push(tsSchema(option, depth + 1));
        }
        return unionOf(options, nullable);
      }
      case "ref": {
        const [first, second] = type.args;
        if ((type.name === "Array" || type.name === "ReadonlyArray") && type.args.length === 1 && first) return arrayOf(tsSchema(first, depth + 1));
        if (type.name === "Record") return objectOf(second ? tsSchema(second, depth + 1) : {});
        if (type.name === "Readonly" && first && !objectShape(first, depth + 1)) return tsSchema(first, depth + 1);
        const members = objectShape(type, depth);
        if (members) return membersSchema(members, depth + 1);
        const local = type.args.length === 0 ? declared(type.name) : null;
        return local ? tsSchema(local, depth + 1) : {};
      }
      default:
        return {};
    }
  };

  /** An object type's schema, nested: no titles or defaults, extra keys allowed. */
  const membersSchema = (members: TsMember[], depth: number): Schema => {
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const m of members) {
      if (Object.hasOwn(properties, m.key)) continue;
      setOwn(properties, m.key, m.type && !inherited(m.key) ? tsSchema(m.type, depth) : {});
      if (!m.optional && !(m.type && mayBeUndefined(m.type))) required.push(m.key);
    }
    return required.length > 0 ? { type: "object", properties, required } : { type: "object", properties };
  };

  /** A JavaScript literal in tokens `start..end` (strings, numbers, booleans, null, arrays and objects of them). */
  const jsLiteral = (start: number, end: number): Literal | null => {
    let p = start;
    const value = (): Json | typeof NOT_LITERAL => {
      const t = at(p);
      if (!t || p >= end) return NOT_LITERAL;
      if (t.kind === "string") {
        p++;
        return jsUnescape(t.value);
      }
      if (t.kind === "number" || ((is(p, "-") || is(p, "+")) && at(p + 1)?.kind === "number")) {
        const negative = is(p, "-");
        if (t.kind === "punct") p++;
        const n = jsNumber(at(p)!.value);
        p++;
        return n === null ? NOT_LITERAL : negative && n !== 0 ? -n : n;
      }
      if (t.kind === "id" && (t.value === "true" || t.value === "false" || t.value === "null")) {
        p++;
        return t.value === "null" ? null : t.value === "true";
      }
      if (is(p, "[")) {
        p++;
        const items: Json[] = [];
        while (!is(p, "]")) {
          const item = value();
          if (item === NOT_LITERAL) return NOT_LITERAL;
          items.push(item);
          if (is(p, ",")) p++;
          else if (!is(p, "]")) return NOT_LITERAL;
        }
        p++;
        return items;
      }
      if (is(p, "{")) {
        p++;
        const object: Record<string, Json> = {};
        while (!is(p, "}")) {
          const key = at(p);
          if (p >= end || !key || (key.kind !== "id" && key.kind !== "string" && key.kind !== "number") || !is(p + 1, ":")) return NOT_LITERAL;
          p += 2;
          const item = value();
          if (item === NOT_LITERAL) return NOT_LITERAL;
          setOwn(object, keyName(key), item);
          if (is(p, ",")) p++;
          else if (!is(p, "}")) return NOT_LITERAL;
        }
        p++;
        return object;
      }
      return NOT_LITERAL;
    };
    const result = value();
    return result !== NOT_LITERAL && p === end ? { value: result } : null;
  };

  /** The keys of the destructuring pattern at `open`, each with whether it has a default and the default when a literal. */
  const patternAt = (open: number): Map<string, { hasDefault: boolean; literal: Literal | null }> => {
    const keys = new Map<string, { hasDefault: boolean; literal: Literal | null }>();
    for (const [s, e] of splitAt(open + 1, skipBalanced(open) - 1, false)) {
      const key = at(s);
      if (!key || (key.kind !== "id" && key.kind !== "string" && key.kind !== "number") || (key.kind === "id" && s + 1 < e && !is(s + 1, ":") && !is(s + 1, "="))) {
        continue; // `...rest`, `[computed]: x`
      }
      let eq = -1;
      for (let j = s + 1; j < e && eq < 0; j++) {
        if (is(j, "(") || is(j, "[") || is(j, "{")) j = skipBalanced(j) - 1;
        else if (is(j, "=")) eq = j;
      }
      keys.set(keyName(key), { hasDefault: eq >= 0, literal: eq >= 0 ? jsLiteral(eq + 1, e) : null });
    }
    return keys;
  };

  /** The schema of the parameters object, from the first parameter of the list opened at `open`. */
  const schemaAt = (open: number): ParameterSchema | null => {
    const close = skipBalanced(open) - 1;
    let k = open + 1;
    if (is(k, "this")) {
      k = is(k + 1, ":") ? skipType(k + 2) : k + 1;
      if (is(k, ",")) k++;
    }
    if (k >= close) return parameterSchemaOf({}, [], true);
    let j: number;
    if (is(k, "{")) j = skipBalanced(k);
    else if (at(k)?.kind === "id" && !is(k, "...")) j = k + 1;
    else return null; // `[a, b]`, `...args`
    if (is(j, "?")) j++;
    let type: TsType | null = null;
    if (is(j, ":")) {
      const typeEnd = Math.min(skipType(j + 1), close);
      type = parseType(j + 1, typeEnd);
      if (type.kind === "union") {
        const defined = type.options.filter((o) => !mayBeUndefined(o));
        if (defined.length === 1) type = defined[0]!;
      }
    }
    const pattern = is(k, "{") ? patternAt(k) : null;
    const members = type ? objectShape(type, 0) : null;
    if (members) {
      const properties: Record<string, Schema> = {};
      const required: string[] = [];
      for (const m of members) {
        if (Object.hasOwn(properties, m.key)) continue;
        const fromPattern = pattern?.get(m.key);
        setOwn(properties, m.key, property(m.key, m.type ? tsSchema(m.type, 1) : {}, fromPattern?.literal ?? null));
        if (!m.optional && !(m.type && mayBeUndefined(m.type)) && !fromPattern?.hasDefault) required.push(m.key);
      }
      return parameterSchemaOf(properties, required, true);
    }
    if (type && !isLoose(type, 0)) return null;
    if (!pattern) return type ? parameterSchemaOf({}, [], true) : null;
    // A pattern without a type that shows its keys: what each one is, and whether it may be left out, JavaScript cannot tell.
    const properties: Record<string, Schema> = {};
    for (const [key, { literal }] of pattern) setOwn(properties, key, property(key, {}, literal));
    return parameterSchemaOf(properties, [], true);
  };

  const signatureAt = (open: number): { parameters: string[]; parameterSchema: ParameterSchema | null } => ({
    parameters: parametersAt(open),
    parameterSchema: schemaAt(open),
  });

  let depth = 0;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind === "punct") {
      if (t.value === "(" || t.value === "[" || t.value === "{") depth++;
      else if (t.value === ")" || t.value === "]" || t.value === "}") depth = Math.max(0, depth - 1);
      continue;
    }
    if (depth > 0 || t.kind !== "id" || is(k - 1, ".")) continue;

    if (t.value === "export") {
      if (is(k + 1, "default")) exportDefault(k + 2, t.line);
      else if (is(k + 1, "{")) exportList(k + 1);
      else if (is(k + 1, "const") || is(k + 1, "let") || is(k + 1, "var")) {
        exported.push(...variablesAt(k + 1, t.line));
      } else {
        const decl = declarationAt(k + 1);
        if (decl) exported.push({ name: decl.name, shape: { ...decl.shape, line: t.line } });
      }
      continue;
    }
    if (is(k - 1, "declare")) continue;
    if (t.value === "function" || (t.value === "async" && is(k + 1, "function"))) {
      const decl = declarationAt(k);
      if (decl && !locals.has(decl.name)) locals.set(decl.name, decl.shape);
      if (t.value === "async") k++;
      continue;
    }
    if (t.value === "const" || t.value === "let" || t.value === "var") {
      for (const v of variablesAt(k, t.line)) if (!locals.has(v.name)) locals.set(v.name, v.shape);
      continue;
    }
    if (commonJs) commonJsExport(k);
  }

  // CommonJS (a `.js` file without `"type": "module"`): Node exposes `module.exports` as the default
  // export, whose function properties the shim finds by name.
  function commonJsExport(k: number): void {
    let j = k;
    if (is(j, "module") && is(j + 1, ".") && is(j + 2, "exports")) j += 2;
    else if (!is(j, "exports")) return;
    if (is(j + 1, "=")) {
      if (!is(k, "module")) return;
      const shape = functionAt(j + 2);
      if (shape) exported.push({ name: "default", shape: { ...shape, line: tokens[k]!.line } });
      else if (is(j + 2, "{")) objectFunctions(j + 2);
      else if (at(j + 2)?.kind === "id") aliases.push({ local: at(j + 2)!.value, name: "default" });
      return;
    }
    if (!is(j + 1, ".") || at(j + 2)?.kind !== "id" || !is(j + 3, "=")) return;
    const name = at(j + 2)!.value;
    const shape = functionAt(j + 4);
    if (shape) exported.push({ name, shape: { ...shape, line: tokens[k]!.line } });
    else if (at(j + 4)?.kind === "id") aliases.push({ local: at(j + 4)!.value, name });
  }

  for (const { local, name } of aliases) {
    const shape = locals.get(local);
    if (shape) exported.push({ name, shape });
  }
  const seen = new Set<string>();
  return exported
    .filter(({ name }) => JS_IDENTIFIER.test(name) && !seen.has(name) && seen.add(name))
    .map(({ name, shape }) => ({
      name,
      line: shape.line,
      async: shape.async,
      parameters: shape.parameters,
      flow: false,
      parameterSchema: shape.parameterSchema,
    }))
    .sort((a, b) => a.line - b.line);
}

/** Identifiers, punctuation and literals; comments and the insides of template literals are dropped. */
function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 0;

  const regexAllowed = (): boolean => {
    const prev = tokens[tokens.length - 1];
    if (!prev) return true;
    if (prev.kind === "id") return REGEX_AFTER_WORD.has(prev.value);
    if (prev.kind === "punct") return !(prev.value === ")" || prev.value === "]" || prev.value === "}");
    return false;
  };

  const skipQuoted = (quote: string): string => {
    const start = i + 1;
    i++;
    while (i < src.length && src[i] !== quote && src[i] !== "\n") {
      if (src[i] === "\\") {
        if (src[i + 1] === "\n") line++;
        i++;
      }
      i++;
    }
    const value = src.slice(start, i);
    if (src[i] === quote) i++;
    return value;
  };

  const skipTemplate = (): void => {
    i++;
    while (i < src.length && src[i] !== "`") {
      const c = src[i]!;
      if (c === "\\") {
        if (src[i + 1] === "\n") line++;
        i += 2;
        continue;
      }
      if (c === "\n") line++;
      if (c === "$" && src[i + 1] === "{") {
        i += 2;
        skipCode();
        continue;
      }
      i++;
    }
    i++;
  };

  /** The code of a `${…}`: read as tokens and thrown away, up to the `}` that closes it. */
  const skipCode = (): void => {
    const mark = tokens.length;
    let braces = 0;
    while (i < src.length) {
      const t = next();
      if (!t) continue;
      if (t.kind === "punct" && t.value === "{") braces++;
      if (t.kind === "punct" && t.value === "}") {
        if (braces === 0) break;
        braces--;
      }
    }
    tokens.length = mark;
  };

  /** Reads one token (pushed onto `tokens`), or skips space or a comment and returns undefined. */
  const next = (): Token | undefined => {
    const c = src[i]!;
    if (c === "\n") {
      line++;
      i++;
      return undefined;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || c === "\u00a0" || c === "\u2028" || c === "\u2029") {
      i++;
      return undefined;
    }
    if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
      return undefined;
    }
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      for (let j = i; j < stop; j++) if (src[j] === "\n") line++;
      i = stop;
      return undefined;
    }
    if (c === "#" && i === 0 && src[1] === "!") {
      while (i < src.length && src[i] !== "\n") i++;
      return undefined;
    }
    const startLine = line;
    let token: Token;
    if (c === "'" || c === '"') {
      token = { kind: "string", value: skipQuoted(c), line: startLine };
    } else if (c === "`") {
      skipTemplate();
      token = { kind: "template", value: "", line: startLine };
    } else if (/[\p{L}_$\\]/u.test(c)) {
      const word = /^(?:[\p{L}\p{N}_$\u200c\u200d]|\\u[0-9a-fA-F]{4}|\\u\{[0-9a-fA-F]+\})+/u.exec(src.slice(i, i + 500));
      const value = word ? word[0] : c;
      i += value.length;
      token = { kind: "id", value, line: startLine };
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      const num = /^[0-9A-Za-z_.]+/.exec(src.slice(i, i + 200))![0];
      i += num.length;
      token = { kind: "number", value: num, line: startLine };
    } else if (c === "/" && regexAllowed()) {
      let inClass = false;
      i++;
      while (i < src.length && src[i] !== "\n") {
        const r = src[i]!;
        if (r === "\\") i++;
        else if (r === "[") inClass = true;
        else if (r === "]") inClass = false;
        else if (r === "/" && !inClass) break;
        i++;
      }
      i++;
      while (/[A-Za-z]/.test(src[i] ?? "")) i++;
      token = { kind: "regex", value: "", line: startLine };
    } else {
      const op = src.startsWith("=>", i) ? "=>" : src.startsWith("...", i) ? "..." : src.startsWith("===", i) ? "===" : src.startsWith("==", i) ? "==" : c;
      i += op.length;
      token = { kind: "punct", value: op, line: startLine };
    }
    tokens.push(token);
    return token;
  };

  while (i < src.length) next();
  return tokens;
}

// ---------------------------------------------------------------------------------------------------
// Parameter schemas: shared

type Schema = Record<string, unknown>;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A default that is a literal, as its JSON value. */
interface Literal {
  value: Json;
}
const NOT_LITERAL: unique symbol = Symbol("not a literal");
/** How deep named types, forward references and nested types are followed. */
const MAX_DEPTH = 8;

/** `object[key] = value`, as an own property even for `__proto__`. */
function setOwn<T>(object: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

function parameterSchemaOf(properties: Record<string, Schema>, required: string[], extraKeys: boolean): ParameterSchema {
  const schema: ParameterSchema = { type: "object", properties };
  if (required.length > 0) schema.required = required;
  if (!extraKeys) schema.additionalProperties = false;
  return schema;
}

const isUnconstrained = (schema: Schema): boolean => Object.keys(schema).length === 0;

function arrayOf(items: Schema): Schema {
  return isUnconstrained(items) ? { type: "array" } : { type: "array", items };
}

function objectOf(values: Schema): Schema {
  return isUnconstrained(values) ? { type: "object" } : { type: "object", additionalProperties: values };
}

/** `schema`, also allowing null. */
function allowNull(schema: Schema): Schema {
  if (isUnconstrained(schema) || accepts(schema, null)) return schema;
  if (Array.isArray(schema.anyOf)) return { ...schema, anyOf: [...(schema.anyOf as Schema[]), { type: "null" }] };
  const out: Schema = { ...schema };
  if (Array.isArray(schema.enum)) out.enum = [...(schema.enum as unknown[]), null];
  if (typeof schema.type === "string") out.type = [schema.type, "null"];
  else if (Array.isArray(schema.type)) out.type = [...(schema.type as string[]), "null"];
  return out;
}

/** One of `options` (or null, when `nullable`): literals merge into one `enum`, anything else is an `anyOf`. */
function unionOf(options: Schema[], nullable: boolean): Schema {
  let rest: Schema[] = [];
  for (const option of options) {
    if (option.type === "null" && Object.keys(option).length === 1) nullable = true;
    else if (Array.isArray(option.anyOf) && Object.keys(option).length === 1) rest.push(...(option.anyOf as Schema[]));
    else rest.push(option);
  }
  if (rest.some(isUnconstrained)) return {};
  const seen = new Set<string>();
  rest = rest.filter((o) => {
    const key = JSON.stringify(o);
    return !seen.has(key) && seen.add(key);
  });
  let schema: Schema;
  if (rest.length === 0) return nullable ? { type: "null" } : {};
  if (rest.length > 1 && rest.every((o) => Array.isArray(o.enum) && Object.keys(o).length === 1)) {
    schema = { enum: [...new Set(rest.flatMap((o) => o.enum as unknown[]))] };
  } else schema = rest.length === 1 ? rest[0]! : { anyOf: rest };
  return nullable ? allowNull(schema) : schema;
}

/**
 * A top-level property: `title`, the schema, and `default` when the literal default fits it (a run that
 * leaves the key out gets the default filled in and checked). A `None`/`null` default widens the
 * schema to allow null, as Python's implicit `Optional` (`x: str = None`) means.
 */
function property(name: string, schema: Schema, fallback: Literal | null): Schema {
  if (inherited(name)) return { title: name };
  const type = fallback?.value === null ? allowNull(schema) : schema;
  const out: Schema = { title: name, ...type };
  if (fallback && accepts(type, fallback.value) && !hasProtoKey(fallback.value)) out.default = fallback.value;
  return out;
}

/**
 * A key every object has through its prototype (`constructor`, `toString`, `__proto__`…). Ajv reads
 * `data[key]` without checking it is the object's own, so any constraint on such a key would fail every
 * run that leaves it out: these keys get no constraint and no default.
 */
const inherited = (key: string): boolean => key in Object.prototype;

/** Ajv writes a default into its generated code as a literal, where a `__proto__` key would be lost. */
function hasProtoKey(value: Json): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  return value !== null && typeof value === "object" && Object.entries(value).some(([k, v]) => k === "__proto__" || hasProtoKey(v));
}

/** Whether `value` satisfies `schema`, for the keywords these schemas use; false when unsure. */
function accepts(schema: Schema, value: Json): boolean {
  if (Array.isArray(schema.anyOf) && !(schema.anyOf as Schema[]).some((o) => accepts(o, value))) return false;
  if (Array.isArray(schema.enum) && !(schema.enum as unknown[]).includes(value)) return false;
  if (schema.type !== undefined) {
    const types = (Array.isArray(schema.type) ? schema.type : [schema.type]) as string[];
    if (!types.some((t) => hasType(t, value))) return false;
  }
  if (typeof value === "string" && typeof schema.format === "string" && !hasFormat(schema.format, value)) return false;
  if (Array.isArray(value)) {
    const items = schema.items as Schema | undefined;
    return !items || value.every((v) => accepts(items, v));
  }
  if (value !== null && typeof value === "object") {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const extra = schema.additionalProperties as Schema | false | undefined;
    for (const [key, v] of Object.entries(value)) {
      const known = Object.hasOwn(properties, key) ? properties[key] : undefined;
      if (known ? !accepts(known, v) : extra === false || (extra !== undefined && !accepts(extra, v))) return false;
    }
    return ((schema.required ?? []) as string[]).every((key) => Object.hasOwn(value, key));
  }
  return true;
}

function hasType(type: string, value: Json): boolean {
  switch (type) {
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
    case "string":
    case "boolean":
      return typeof value === type;
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    default:
      return false;
  }
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** ajv-formats' full `date`, `date-time` (a time zone required) and `uuid`, a little stricter (no leap seconds). */
function hasFormat(format: string, value: string): boolean {
  if (format === "uuid") return /^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(value);
  if (format === "date") {
    const m = /^(\d\d\d\d)-(\d\d)-(\d\d)$/.exec(value);
    if (!m) return false;
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    return month >= 1 && month <= 12 && day >= 1 && day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!);
  }
  if (format === "date-time") {
    const parts = value.split(/t|\s/i);
    const time = parts.length === 2 ? /^(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:z|[+-](\d\d)(?::?(\d\d))?)$/i.exec(parts[1]!) : null;
    return (
      time !== null &&
      hasFormat("date", parts[0]!) &&
      Number(time[1]) <= 23 &&
      Number(time[2]) <= 59 &&
      Number(time[3]) <= 59 &&
      Number(time[4] ?? 0) <= 23 &&
      Number(time[5] ?? 0) <= 59
    );
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Parameter schemas: Python

/**
 * The schema of the keyword arguments of the signature in `code[start, end)`: the parameters a run can
 * set, from their annotations and literal defaults.
 */
function pythonSchema(code: string, strings: Map<number, string>, start: number, end: number): ParameterSchema {
  let properties: Record<string, Schema> = {};
  let required: string[] = [];
  let kwargs = false;
  let from = start;
  for (let i = start; i <= end; i++) {
    const c = code[i];
    if (i < end && (c === "(" || c === "[" || c === "{")) {
      i = Math.min(skipBalanced(code, i), end) - 1;
      continue;
    }
    if (i < end && c !== ",") continue;
    let s = from;
    let e = i;
    from = i + 1;
    while (s < e && /\s/.test(code[s]!)) s++;
    while (e > s && /\s/.test(code[e - 1]!)) e--;
    const part = code.slice(s, e);
    if (part === "/") {
      properties = {}; // everything before `/` is positional-only
      required = [];
      continue;
    }
    if (part.startsWith("**")) kwargs = true;
    const name = /^[A-Za-z_]\w*/.exec(part)?.[0];
    if (!name || part.startsWith("*")) continue;
    let p = s + name.length;
    while (p < e && /\s/.test(code[p]!)) p++;
    let annotation: string | null = null;
    let fallback: string | null = null;
    if (code[p] === ":") {
      const eq = assignmentIn(code, p + 1, e);
      annotation = pythonSource(code, strings, p + 1, eq ?? e);
      if (eq !== null) fallback = pythonSource(code, strings, eq + 1, e);
    } else if (code[p] === "=") {
      fallback = pythonSource(code, strings, p + 1, e);
    }
    const annotated = annotation === null ? null : parsePythonType(annotation);
    const schema = annotated ? pythonTypeSchema(annotated, 0) : {};
    setOwn(properties, name, property(name, schema, fallback === null ? null : pythonLiteral(fallback)));
    if (fallback === null) required.push(name);
  }
  return parameterSchemaOf(properties, required, kwargs);
}

/** The index of the `=` of a default in `code[start, end)`, outside brackets and not part of `==`, `<=`…. */
function assignmentIn(code: string, start: number, end: number): number | null {
  for (let i = start; i < end; i++) {
    const c = code[i]!;
    if (c === "(" || c === "[" || c === "{") i = skipBalanced(code, i) - 1;
    else if (c === "=" && code[i + 1] !== "=" && !"=!<>:".includes(code[i - 1] ?? "")) return i;
  }
  return null;
}

/** `code[start, end)` with its string literals put back. */
function pythonSource(code: string, strings: Map<number, string>, start: number, end: number): string {
  let out = "";
  for (let i = start; i < end; i++) {
    const raw = strings.get(i);
    if (raw !== undefined) {
      out += raw;
      i++;
    } else out += code[i];
  }
  return out;
}

interface PyToken {
  kind: "name" | "number" | "string" | "op";
  value: string;
}

/** Tokens of a Python expression; null when a string is not closed. */
function pythonTokens(text: string): PyToken[] | null {
  const tokens: PyToken[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c) || c === "\\") {
      i++;
      continue;
    }
    const str = /^([A-Za-z]{0,2})('''|"""|'|")/.exec(text.slice(i, i + 5));
    if (str && (str[1] === "" || PY_STRING_PREFIX.test(str[1]!))) {
      const quote = str[2]!;
      let j = i + str[0].length;
      while (j < text.length && !text.startsWith(quote, j)) j += text[j] === "\\" ? 2 : 1;
      if (j >= text.length) return null;
      j += quote.length;
      tokens.push({ kind: "string", value: text.slice(i, j) });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(text[i + 1] ?? ""))) {
      const num = /^(?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)[jJ]?/.exec(text.slice(i))![0];
      tokens.push({ kind: "number", value: num });
      i += num.length;
      continue;
    }
    const word = /^[\p{L}\p{N}_]+/u.exec(text.slice(i, i + 200));
    if (word) {
      tokens.push({ kind: "name", value: word[0] });
      i += word[0].length;
      continue;
    }
    const op = text.startsWith("...", i) ? "..." : text.startsWith("**", i) ? "**" : c;
    tokens.push({ kind: "op", value: op });
    i += op.length;
  }
  return tokens;
}

/** The value of a Python string literal's source; null for bytes, f-strings with fields and what it cannot decode. */
function pythonString(raw: string): string | null {
  const m = /^([A-Za-z]*)('''|"""|'|")/.exec(raw);
  if (!m) return null;
  const prefix = m[1]!.toLowerCase();
  const quote = m[2]!;
  if (prefix.includes("b") || prefix.includes("t")) return null;
  if (raw.length < m[0].length + quote.length || !raw.endsWith(quote)) return null;
  const body = raw.slice(m[0].length, raw.length - quote.length);
  if (/(?:^|[^\\])(?:\\\\)*\\$/.test(body)) return null; // the closing quote is escaped: not closed
  if (prefix.includes("f") && /[{}]/.test(body)) return null;
  if (prefix.includes("r")) return body;
  let ok = true;
  const value = body.replace(/\\(\n|[0-7]{1,3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[\s\S])/g, (all, e: string) => {
    if (e === "\n") return "";
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    if (/^[xuU][0-9a-fA-F]/.test(e) && e.length > 1) {
      const code = parseInt(e.slice(1), 16);
      if (code > 0x10ffff) ok = false;
      return ok ? String.fromCodePoint(code) : "";
    }
    if (e.startsWith("N{")) {
      ok = false; // a character by its Unicode name: no table of names here
      return "";
    }
    const simple = PY_ESCAPES[e];
    return simple ?? all;
  });
  return ok ? value : null;
}

const PY_ESCAPES: Record<string, string> = { "\\": "\\", "'": "'", '"': '"', a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };

/** A Python number literal's value; null for complex numbers and integers a JSON number cannot hold exactly. */
function pythonNumber(raw: string): number | null {
  if (/[jJ]$/.test(raw)) return null;
  const text = raw.replace(/_/g, "");
  const n = Number(text);
  if (!Number.isFinite(n)) return null;
  if (/^(?:0[xXoObB][0-9a-fA-F]+|\d+)$/.test(text) && !Number.isSafeInteger(n)) return null;
  return n;
}

/** A default's JSON value when it is a literal: strings, numbers, True/False/None, and lists, tuples, sets and dicts of them. */
function pythonLiteral(text: string): Literal | null {
  const tokens = pythonTokens(text);
  if (!tokens) return null;
  let p = 0;
  const op = (value: string): boolean => tokens[p]?.kind === "op" && tokens[p]!.value === value;
  const items = (close: string): Json[] | typeof NOT_LITERAL => {
    const out: Json[] = [];
    while (!op(close)) {
      const item = value();
      if (item === NOT_LITERAL) return NOT_LITERAL;
      out.push(item);
      if (op(",")) p++;
      else if (!op(close)) return NOT_LITERAL;
    }
    p++;
    return out;
  };
  const value = (): Json | typeof NOT_LITERAL => {
    const t = tokens[p];
    if (!t) return NOT_LITERAL;
    if (t.kind === "string") {
      let joined = "";
      while (tokens[p]?.kind === "string") {
        const s = pythonString(tokens[p]!.value);
        if (s === null) return NOT_LITERAL;
        joined += s;
        p++;
      }
      return joined;
    }
    if (t.kind === "number") {
      p++;
      return pythonNumber(t.value) ?? NOT_LITERAL;
    }
    if (op("-") || op("+")) {
      const negative = op("-");
      p++;
      const n = value();
      if (typeof n !== "number") return NOT_LITERAL;
      return negative && n !== 0 ? -n : n;
    }
    if (t.kind === "name" && (t.value === "True" || t.value === "False" || t.value === "None")) {
      p++;
      return t.value === "None" ? null : t.value === "True";
    }
    if (op("[")) {
      p++;
      return items("]");
    }
    if (op("(")) {
      p++;
      if (op(")")) {
        p++;
        return [];
      }
      const first = value();
      if (first === NOT_LITERAL) return NOT_LITERAL;
      if (op(")")) {
        p++;
        return first; // parenthesized
      }
      if (!op(",")) return NOT_LITERAL;
      p++;
      const rest = items(")");
      return rest === NOT_LITERAL ? NOT_LITERAL : [first, ...rest];
    }
    if (op("{")) {
      p++;
      if (op("}")) {
        p++;
        return {};
      }
      const start = p;
      const key = value();
      if (key === NOT_LITERAL) return NOT_LITERAL;
      if (!op(":")) {
        p = start;
        return items("}"); // a set
      }
      const object: Record<string, Json> = {};
      p = start;
      while (!op("}")) {
        const k = value();
        if (typeof k !== "string" || !op(":")) return NOT_LITERAL; // JSON keys are strings
        p++;
        const v = value();
        if (v === NOT_LITERAL) return NOT_LITERAL;
        setOwn(object, k, v);
        if (op(",")) p++;
        else if (!op("}")) return NOT_LITERAL;
      }
      p++;
      return object;
    }
    return NOT_LITERAL;
  };
  const result = value();
  return result !== NOT_LITERAL && p === tokens.length ? { value: result } : null;
}

type PyType =
  | { kind: "name"; name: string; args: PyType[] | null }
  | { kind: "string"; value: string }
  | { kind: "number"; value: number }
  | { kind: "list"; items: PyType[] }
  | { kind: "union"; options: PyType[] }
  | { kind: "ellipsis" }
  | { kind: "other" };

/** An annotation: names (the last part of a dotted one), subscripts, `|` unions, strings, numbers; null when it is anything else. */
function parsePythonType(text: string): PyType | null {
  const tokens = pythonTokens(text);
  if (!tokens) return null;
  let p = 0;
  const op = (value: string): boolean => tokens[p]?.kind === "op" && tokens[p]!.value === value;
  const list = (close: string): PyType[] | null => {
    const out: PyType[] = [];
    while (!op(close)) {
      const item = union();
      if (!item) return null;
      out.push(item);
      if (op(",")) p++;
      else if (!op(close)) return null;
    }
    p++;
    return out;
  };
  const union = (): PyType | null => {
    const first = primary();
    if (!first || !op("|")) return first;
    const options = [first];
    while (op("|")) {
      p++;
      const next = primary();
      if (!next) return null;
      options.push(next);
    }
    return { kind: "union", options };
  };
  const primary = (): PyType | null => {
    const t = tokens[p];
    if (!t) return null;
    if (t.kind === "name") {
      let name = t.value;
      p++;
      while (op(".") && tokens[p + 1]?.kind === "name") {
        name = tokens[p + 1]!.value;
        p += 2;
      }
      if (op("(")) {
        // A call, as in `Annotated[int, Field(ge=0)]`: skipped.
        for (let depth = 0; p < tokens.length; p++) {
          if (op("(") || op("[") || op("{")) depth++;
          else if ((op(")") || op("]") || op("}")) && --depth === 0) break;
        }
        if (p >= tokens.length) return null;
        p++;
        return { kind: "other" };
      }
      if (!op("[")) return { kind: "name", name, args: null };
      p++;
      const args = list("]");
      return args && { kind: "name", name, args };
    }
    if (t.kind === "string") {
      let value = "";
      while (tokens[p]?.kind === "string") {
        const s = pythonString(tokens[p]!.value);
        if (s === null) return null;
        value += s;
        p++;
      }
      return { kind: "string", value };
    }
    if (t.kind === "number" || ((op("-") || op("+")) && tokens[p + 1]?.kind === "number")) {
      const negative = op("-");
      if (t.kind === "op") p++;
      const n = pythonNumber(tokens[p]!.value);
      p++;
      return n === null ? null : { kind: "number", value: negative && n !== 0 ? -n : n };
    }
    if (op("[")) {
      p++;
      const items = list("]");
      return items && { kind: "list", items };
    }
    if (op("(")) {
      p++;
      const inner = union();
      if (!inner || !op(")")) return null;
      p++;
      return inner;
    }
    if (op("...")) {
      p++;
      return { kind: "ellipsis" };
    }
    return null;
  };
  const result = union();
  return result && p === tokens.length ? result : null;
}

const PY_ARRAYS = new Set([
  "list",
  "List",
  "tuple",
  "Tuple",
  "set",
  "Set",
  "frozenset",
  "FrozenSet",
  "AbstractSet",
  "MutableSet",
  "Sequence",
  "MutableSequence",
  "Iterable",
  "Collection",
  "deque",
  "Deque",
]);
const PY_MAPPINGS = new Set(["dict", "Dict", "Mapping", "MutableMapping", "OrderedDict", "defaultdict", "DefaultDict"]);

function pythonTypeSchema(type: PyType, depth: number): Schema {
  if (depth > MAX_DEPTH) return {};
  if (type.kind === "union") return unionOf(type.options.map((o) => pythonTypeSchema(o, depth + 1)), false);
  if (type.kind === "string") {
    // A forward reference: `"int"`, `'list["Row"]'`.
    const inner = parsePythonType(type.value);
    return inner ? pythonTypeSchema(inner, depth + 1) : {};
  }
  if (type.kind !== "name") return {};
  const args = type.args ?? [];
  const [first, second] = args;
  switch (type.name) {
    case "str":
      return { type: "string" };
    case "int":
      return { type: "integer" };
    case "float":
      return { type: "number" };
    case "bool":
      return { type: "boolean" };
    case "None":
    case "NoneType":
      return { type: "null" };
    case "datetime":
      return { type: "string", format: "date-time" };
    case "date":
      return { type: "string", format: "date" };
    case "UUID":
      return { type: "string", format: "uuid" };
    case "Optional":
      return first && args.length === 1 ? unionOf([pythonTypeSchema(first, depth + 1)], true) : {};
    case "Union":
      return unionOf(args.map((a) => pythonTypeSchema(a, depth + 1)), false);
    case "Annotated":
      return first ? pythonTypeSchema(first, depth + 1) : {};
    case "Literal": {
      const values = literalValues(args);
      return values && values.length > 0 ? { enum: [...new Set(values)] } : {};
    }
  }
  if (PY_ARRAYS.has(type.name)) {
    if (!first) return { type: "array" };
    if (type.name === "tuple" || type.name === "Tuple") {
      // `tuple[int, ...]`, or a fixed tuple whose elements all share one schema.
      const elements = second?.kind === "ellipsis" && args.length === 2 ? [first] : args;
      const schemas = elements.map((e) => JSON.stringify(pythonTypeSchema(e, depth + 1)));
      return schemas.every((s) => s === schemas[0]) ? arrayOf(pythonTypeSchema(first, depth + 1)) : { type: "array" };
    }
    return arrayOf(pythonTypeSchema(first, depth + 1));
  }
  if (PY_MAPPINGS.has(type.name)) return objectOf(second ? pythonTypeSchema(second, depth + 1) : {});
  return {};
}

/** The values of `Literal[…]`'s arguments (nested `Literal`s flattened); null when one is not a literal. */
function literalValues(args: PyType[]): (string | number | boolean | null)[] | null {
  const values: (string | number | boolean | null)[] = [];
  for (const arg of args) {
    if (arg.kind === "string" || arg.kind === "number") values.push(arg.value);
    else if (arg.kind === "name" && arg.args === null && (arg.name === "True" || arg.name === "False" || arg.name === "None")) {
      values.push(arg.name === "None" ? null : arg.name === "True");
    } else if (arg.kind === "name" && arg.name === "Literal" && arg.args) {
      const inner = literalValues(arg.args);
      if (!inner) return null;
      values.push(...inner);
    } else return null;
  }
  return values;
}

// ---------------------------------------------------------------------------------------------------
// Parameter schemas: JavaScript and TypeScript

type TsType =
  | { kind: "keyword"; name: string }
  | { kind: "literal"; value: string | number | boolean }
  | { kind: "template" }
  | { kind: "array"; element: TsType }
  | { kind: "tuple" }
  | { kind: "object"; members: TsMember[]; index: boolean }
  | { kind: "ref"; name: string; args: TsType[] }
  | { kind: "union"; options: TsType[] }
  | { kind: "intersection"; parts: TsType[] }
  | { kind: "other" };

interface TsMember {
  key: string;
  optional: boolean;
  /** Null for a member without a type (`any`). */
  type: TsType | null;
}

type TypeDecl = { kind: "interface"; bases: [number, number][]; body: number } | { kind: "alias"; start: number; end: number };

const TS_KEYWORDS = new Set(["string", "number", "boolean", "null", "undefined", "void", "any", "unknown", "object", "never", "bigint", "symbol", "this"]);

/** The value of a string token (the text between its quotes). */
function jsUnescape(raw: string): string {
  return raw.replace(/\\(?:\n|u\{([0-9a-fA-F]+)\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|([0-7]{1,3})|([\s\S]))/g, (all, cp?: string, u4?: string, x2?: string, octal?: string, ch?: string) => {
    const hex = cp ?? u4 ?? x2;
    if (hex !== undefined) {
      const code = parseInt(hex, 16);
      return code <= 0x10ffff ? String.fromCodePoint(code) : all;
    }
    if (octal !== undefined) return String.fromCharCode(parseInt(octal, 8));
    if (ch === undefined) return ""; // a line continuation
    return JS_ESCAPES[ch] ?? ch;
  });
}

const JS_ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", v: "\v" };

/** A number token's value; null for a BigInt or what is not a finite number. */
function jsNumber(raw: string): number | null {
  if (/n$/.test(raw)) return null;
  const n = Number(raw.replace(/_/g, ""));
  return Number.isFinite(n) ? n : null;
}

/** A property key's name: an identifier, a string's value or a number's canonical form. */
function keyName(token: Token): string {
  if (token.kind === "string") return jsUnescape(token.value);
  if (token.kind === "number") return String(jsNumber(token.value) ?? token.value);
  return token.value;
}
