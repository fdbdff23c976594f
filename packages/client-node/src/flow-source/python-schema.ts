/**
 * The JSON Schema of a Python function's keyword arguments, from its signature: type annotations (typing's
 * names, `|` unions, forward references) and literal defaults, read with a small expression tokenizer.
 */

import { PY_STRING_PREFIX, skipBalanced } from "./python-syntax.js";
import { arrayOf, MAX_DEPTH, NOT_LITERAL, objectOf, parameterSchemaOf, property, setOwn, unionOf, type Json, type Literal, type Schema } from "./schema.js";
import type { ParameterSchema } from "./types.js";

/**
 * The schema of the keyword arguments of the signature in `code[start, end)`: the parameters a run can
 * set, from their annotations and literal defaults.
 */
export function pythonSchema(code: string, strings: Map<number, string>, start: number, end: number): ParameterSchema {
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
