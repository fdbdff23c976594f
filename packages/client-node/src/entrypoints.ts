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
}

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
}

const PY_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PY_STRING_PREFIX = /^(?:[rRbBuUfFtT]|[rR][bBfFtT]|[bBfFtT][rR])$/;
const FLOW_DECORATOR = /^(?:[A-Za-z_]\w*\s*\.\s*)*flow\s*(?:\(|$)/;

function discoverPython(source: string): DiscoveredFunction[] {
  const found = new Map<string, DiscoveredFunction>();
  let decorators: string[] = [];
  for (const { line, indent, code } of pythonLogicalLines(source)) {
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
      current = { line, indent: col, code: "" };
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
      i = scanString(i, "");
      current.code += '""';
      continue;
    }
    const word = /^[\p{L}\p{N}_]+/u.exec(src.slice(i, i + 200));
    if (word) {
      const after = src[i + word[0].length];
      if ((after === "'" || after === '"') && PY_STRING_PREFIX.test(word[0])) {
        i = scanString(i + word[0].length, word[0]);
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
    if (is(k, "{")) return objectKeys(k, "pattern");
    if (at(k)?.kind === "id" && !is(k, "...")) {
      let j = k + 1;
      if (is(j, "?")) j++;
      if (is(j, ":") && is(j + 1, "{")) return objectKeys(j + 1, "type");
    }
    return [];
  };

  /** Keys of a destructuring pattern `{ a, b = 1, c: d }` or an object type `{ a?: string; readonly b: number }`. */
  const objectKeys = (open: number, form: "pattern" | "type"): string[] => {
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
      if (form === "type" && t.kind === "id" && t.value === "readonly" && (at(k + 1)?.kind === "id" || at(k + 1)?.kind === "string")) {
        memberStart = true;
        continue;
      }
      if (t.kind !== "id" && t.kind !== "string") continue;
      // In a type, `name(…)` is a method, not a value the parameters carry.
      if (form === "type" && (is(k + 1, "(") || is(k + 1, "<"))) continue;
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
      return is(j, "(") ? { async: isAsync, parameters: parametersAt(j), line } : null;
    }
    if (at(j)?.kind === "id" && is(j + 1, "=>")) return { async: isAsync, parameters: [], line };
    if (is(j, "<")) j = skipAngles(j);
    if (!is(j, "(")) return null;
    const after = skipBalanced(j);
    if (is(after, "=>") || (is(after, ":") && arrowFollows(after))) return { async: isAsync, parameters: parametersAt(j), line };
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
        exported.push({ name: at(next)!.value, shape: { async: true, parameters: parametersAt(next + 1), line: key.line } });
      } else if ((key?.kind === "id" || key?.kind === "string") && is(next, "(")) {
        exported.push({ name: key.value, shape: { async: false, parameters: parametersAt(next), line: key.line } });
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
    .map(({ name, shape }) => ({ name, line: shape.line, async: shape.async, parameters: shape.parameters, flow: false }))
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
