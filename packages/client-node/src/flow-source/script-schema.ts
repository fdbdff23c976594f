/**
 * The JSON Schema of a JavaScript or TypeScript function's parameters object, from the type of its one
 * parameter (inline, or an interface or type alias the file declares) and the literal defaults of a
 * destructuring pattern.
 */

import {
  arrayOf,
  inherited,
  MAX_DEPTH,
  NOT_LITERAL,
  objectOf,
  parameterSchemaOf,
  property,
  setOwn,
  unionOf,
  type Json,
  type Literal,
  type Schema,
} from "./schema.js";
import { STATEMENT_START, type Token, type TokenReader } from "./script-syntax.js";
import type { ParameterSchema } from "./types.js";

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

/** The types the file of `reader` declares, read as a signature needs them: object types and parameter schemas. */
export function scriptTypes(reader: TokenReader): {
  objectType: (open: number) => TsType;
  schemaAt: (open: number) => ParameterSchema | null;
} {
  const { tokens, at, is, skipBalanced, skipAngles, skipType } = reader;

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

  return { objectType, schemaAt };
}
