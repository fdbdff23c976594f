/**
 * The pure side of the schema-driven forms: resolving `$ref`/`allOf`, deciding which control a schema
 * gets, defaults, validation with messages in plain words, and what changed. The schemas are the ones
 * Ferry stores: pool types' job variables (packages/provider-*: `type: [x, "null"]`, enums, string lists,
 * string maps) and deployments' parameter schemas (derived from Python/TypeScript signatures by
 * client-node, or written by users like pydantic's: `$ref` into `definitions`/`$defs`, `allOf` with one
 * `$ref`, `anyOf` unions, `format: date`).
 */

export type JsonSchema = Record<string, unknown>;

const SCALARS = ["string", "integer", "number", "boolean"] as const;
type Scalar = (typeof SCALARS)[number];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** A value the JSON editor could not parse: kept in the form so validation reports it instead of losing the text. */
export class InvalidJson {
  constructor(
    readonly text: string,
    readonly reason: string,
  ) {}
  toJSON(): string {
    return this.text;
  }
}

const MAX_DEPTH = 32;

/** The schema `ref` points at inside `root` (`#/definitions/X`, `#/$defs/X`, any local JSON pointer); null when absent. */
function lookup(root: JsonSchema, ref: string): JsonSchema | null {
  if (!ref.startsWith("#")) return null;
  let node: unknown = root;
  for (const raw of ref.slice(1).split("/").filter(Boolean)) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (!isObject(node) || !Object.hasOwn(node, key)) return null;
    node = node[key];
  }
  return isObject(node) ? node : null;
}

/**
 * `schema` with its `$ref` followed and its `allOf` merged (siblings of a `$ref`, such as pydantic's
 * `default` and `description` next to `allOf: [{ $ref }]`, win over the target's). Stops at cycles.
 */
export function resolve(schema: JsonSchema, root: JsonSchema, depth = 0): JsonSchema {
  if (depth > MAX_DEPTH) return schema;
  let out: JsonSchema = schema;
  if (typeof out.$ref === "string") {
    const target = lookup(root, out.$ref);
    const { $ref: _ref, ...rest } = out;
    out = target ? { ...resolve(target, root, depth + 1), ...rest } : out;
  }
  if (Array.isArray(out.allOf)) {
    const { allOf, ...rest } = out;
    let merged: JsonSchema = {};
    for (const part of allOf as unknown[]) {
      if (!isObject(part)) continue;
      const r = resolve(part, root, depth + 1);
      merged = {
        ...merged,
        ...r,
        ...(merged.properties || r.properties ? { properties: { ...(merged.properties as object), ...(r.properties as object) } } : {}),
        ...(merged.required || r.required ? { required: [...((merged.required as string[]) ?? []), ...((r.required as string[]) ?? [])] } : {}),
      };
    }
    out = { ...merged, ...rest };
  }
  return out;
}

/** The types a schema names (`type: "x"` or `type: [..]`); empty when it names none. */
export function typesOf(schema: JsonSchema): string[] {
  if (typeof schema.type === "string") return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((t): t is string => typeof t === "string");
  return [];
}

const isNullOnly = (s: JsonSchema): boolean => s.type === "null" || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null) || s.const === null;

/**
 * Splits null off a schema: `type: [x, "null"]`, `anyOf: [{…}, { type: "null" }]` and an `enum` with
 * null all mean "x, or null". Returns the non-null schema (resolved) and whether null is allowed.
 */
export function splitNull(schema: JsonSchema, root: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const s = resolve(schema, root);
  const types = typesOf(s);
  if (types.includes("null") && types.length > 1) {
    const rest = types.filter((t) => t !== "null");
    return { schema: { ...s, type: rest.length === 1 ? rest[0] : rest }, nullable: true };
  }
  const union = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null;
  if (union) {
    const options = union.filter(isObject).map((o) => resolve(o, root));
    const nonNull = options.filter((o) => !isNullOnly(o));
    if (nonNull.length < options.length) {
      const { anyOf: _a, oneOf: _o, ...rest } = s;
      if (nonNull.length === 1) return { schema: { ...splitNull(nonNull[0]!, root).schema, ...rest }, nullable: true };
      return { schema: { ...rest, anyOf: nonNull }, nullable: true };
    }
  }
  if (Array.isArray(s.enum) && s.enum.includes(null)) return { schema: { ...s, enum: s.enum.filter((v) => v !== null) }, nullable: true };
  return { schema: s, nullable: false };
}

export type FieldKind =
  | { kind: "string"; format: string | null; secret: boolean }
  | { kind: "integer" }
  | { kind: "number" }
  | { kind: "boolean" }
  | { kind: "enum"; options: unknown[] }
  | { kind: "scalar-union"; types: Scalar[] }
  | { kind: "list"; item: JsonSchema; itemKind: "string" | "integer" | "number" }
  | { kind: "map" }
  | { kind: "object"; properties: Record<string, JsonSchema>; required: string[] }
  | { kind: "json" };

/** Whether a schema is a secret: Ferry's `x-ferry-secret`, `format: password` or `writeOnly`. */
export const isSecretSchema = (s: JsonSchema): boolean => s["x-ferry-secret"] === true || s.format === "password" || s.writeOnly === true;

/** Which control a (non-null, resolved) schema gets. Anything not listed falls back to a JSON editor. */
export function kindOf(schema: JsonSchema, root: JsonSchema): FieldKind {
  const s = resolve(schema, root);
  if (Array.isArray(s.enum) && s.enum.length > 0) return { kind: "enum", options: s.enum };
  if (s.const !== undefined) return { kind: "enum", options: [s.const] };
  const union = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null;
  if (union) {
    const options = union.filter(isObject).map((o) => resolve(o, root));
    // Literal unions (`Literal["a"] | Literal["b"]`) are one select.
    if (options.every((o) => Array.isArray(o.enum) || o.const !== undefined)) {
      return { kind: "enum", options: [...new Set(options.flatMap((o) => (Array.isArray(o.enum) ? o.enum : [o.const])))] };
    }
    const types = options.map((o) => (Object.keys(o).length === 1 && typeof o.type === "string" ? o.type : null));
    if (types.every((t): t is Scalar => SCALARS.includes(t as Scalar))) return { kind: "scalar-union", types: [...new Set(types)] };
    return { kind: "json" };
  }
  const types = typesOf(s);
  if (types.length > 1) {
    return types.every((t) => SCALARS.includes(t as Scalar)) ? { kind: "scalar-union", types: types as Scalar[] } : { kind: "json" };
  }
  const type = types[0] ?? (isObject(s.properties) ? "object" : undefined);
  switch (type) {
    case "string":
      return { kind: "string", format: typeof s.format === "string" ? s.format : null, secret: isSecretSchema(s) };
    case "integer":
      return { kind: "integer" };
    case "number":
      return { kind: "number" };
    case "boolean":
      return { kind: "boolean" };
    case "array": {
      const item = isObject(s.items) ? resolve(s.items, root) : null;
      const itemType = item && Object.keys(item).every((k) => ["type", "minLength", "maxLength", "pattern", "minimum", "maximum", "title", "description", "format"].includes(k)) ? item.type : null;
      if (item && (itemType === "string" || itemType === "integer" || itemType === "number")) return { kind: "list", item, itemKind: itemType };
      return { kind: "json" };
    }
    case "object": {
      const properties = isObject(s.properties) ? (s.properties as Record<string, JsonSchema>) : {};
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      if (Object.keys(properties).length > 0) return { kind: "object", properties, required };
      const extra = s.additionalProperties;
      const values = isObject(extra) ? resolve(extra, root) : null;
      if (extra === undefined || extra === true || (values && (Object.keys(values).length === 0 || values.type === "string"))) return { kind: "map" };
      return { kind: "json" };
    }
    default:
      return { kind: "json" };
  }
}

/**
 * The defaults a form starts from: each property's `default` (through `$ref`), required nested objects'
 * defaults, and false for a required boolean without one (its checkbox starts unchecked).
 */
export function defaultsOf(schema: JsonSchema, root: JsonSchema = schema): Record<string, unknown> {
  const s = resolve(schema, root);
  const out: Record<string, unknown> = {};
  const properties = isObject(s.properties) ? s.properties : {};
  const required = Array.isArray(s.required) ? (s.required as string[]) : [];
  for (const [name, raw] of Object.entries(properties)) {
    if (!isObject(raw)) continue;
    const p = resolve(raw, root);
    if (p.default !== undefined) out[name] = structuredClone(p.default);
    else if (required.includes(name)) {
      const { schema: inner, nullable } = splitNull(p, root);
      // A checkbox cannot show "not set": a required boolean starts unchecked, as false.
      if (inner.type === "boolean" && !nullable) out[name] = false;
      else if (isObject(inner.properties)) {
        const nested = defaultsOf(inner, root);
        if (Object.keys(nested).length > 0) out[name] = nested;
      }
    }
  }
  return out;
}

const show = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

function typeMessage(types: string[]): string {
  const words: Record<string, string> = {
    string: "text",
    integer: "a whole number",
    number: "a number",
    boolean: "true or false",
    array: "a list",
    object: "an object (key/value pairs)",
    null: "empty",
  };
  return `Must be ${types.map((t) => words[t] ?? t).join(" or ")}.`;
}

function hasType(type: string, v: unknown): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "boolean":
      return typeof v === "boolean";
    case "array":
      return Array.isArray(v);
    case "object":
      return isObject(v);
    case "null":
      return v === null;
    default:
      return true;
  }
}

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

function formatMessage(format: string, v: string): string | null {
  if (format === "date" && !DATE.test(v)) return "Must be a date (YYYY-MM-DD).";
  if (format === "date-time" && (!DATE_TIME.test(v) || Number.isNaN(Date.parse(v)))) return "Must be a date and time with a time zone (e.g. 2025-01-31T09:30:00Z).";
  if (format === "email" && !/^[^\s@]+@[^\s@]+$/.test(v)) return "Must be an email address.";
  if ((format === "uri" || format === "url") && !/^[a-z][a-z0-9+.-]*:\S*$/i.test(v)) return "Must be a URL (e.g. https://example.com).";
  return null;
}

/** The first problem with `v` against `schema`, as a sentence; null when it fits. Nested problems go to `out` under their path. */
function check(schema: JsonSchema, root: JsonSchema, v: unknown, path: string, out: Record<string, string>, depth: number): void {
  if (depth > MAX_DEPTH) return;
  if (v instanceof InvalidJson) {
    out[path] = `Not valid JSON: ${v.reason}`;
    return;
  }
  const { schema: s, nullable } = splitNull(schema, root);
  if (v === null) {
    if (!nullable && typesOf(s).length > 0) out[path] = "Must not be empty.";
    return;
  }
  const union = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null;
  if (union) {
    const options = union.filter(isObject);
    const fits = options.some((o) => {
      const probe: Record<string, string> = {};
      check(o, root, v, path, probe, depth + 1);
      return Object.keys(probe).length === 0;
    });
    if (!fits) {
      const types = options.flatMap((o) => typesOf(resolve(o, root)));
      out[path] = types.length === options.length ? typeMessage(types) : "Does not match any of the allowed forms.";
      return;
    }
  }
  const types = typesOf(s);
  if (types.length > 0 && !types.some((t) => hasType(t, v))) {
    out[path] = typeMessage(types);
    return;
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, v))) {
    out[path] = `Must be one of: ${s.enum.map(show).join(", ")}.`;
    return;
  }
  if (s.const !== undefined && !deepEqual(s.const, v)) {
    out[path] = `Must be ${show(s.const)}.`;
    return;
  }
  if (typeof v === "number") {
    if (typeof s.minimum === "number" && v < s.minimum) out[path] = `Must be at least ${s.minimum}.`;
    else if (typeof s.maximum === "number" && v > s.maximum) out[path] = `Must be at most ${s.maximum}.`;
    else if (typeof s.exclusiveMinimum === "number" && v <= s.exclusiveMinimum) out[path] = `Must be more than ${s.exclusiveMinimum}.`;
    else if (typeof s.exclusiveMaximum === "number" && v >= s.exclusiveMaximum) out[path] = `Must be less than ${s.exclusiveMaximum}.`;
    else if (typeof s.multipleOf === "number" && s.multipleOf > 0 && Math.abs(v / s.multipleOf - Math.round(v / s.multipleOf)) > 1e-9) out[path] = `Must be a multiple of ${s.multipleOf}.`;
    return;
  }
  if (typeof v === "string") {
    const length = [...v].length;
    if (typeof s.minLength === "number" && length < s.minLength) out[path] = s.minLength === 1 ? "Must not be empty." : `Must be at least ${s.minLength} characters long.`;
    else if (typeof s.maxLength === "number" && length > s.maxLength) out[path] = `Must be at most ${s.maxLength} characters long.`;
    else if (typeof s.pattern === "string" && !matches(s.pattern, v)) out[path] = `Must match the pattern ${s.pattern}.`;
    else if (typeof s.format === "string") {
      const m = formatMessage(s.format, v);
      if (m) out[path] = m;
    }
    return;
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === "number" && v.length < s.minItems) out[path] = `Needs at least ${s.minItems} item${s.minItems === 1 ? "" : "s"}.`;
    else if (typeof s.maxItems === "number" && v.length > s.maxItems) out[path] = `Takes at most ${s.maxItems} item${s.maxItems === 1 ? "" : "s"}.`;
    if (isObject(s.items)) v.forEach((item, i) => check(s.items as JsonSchema, root, item, `${path}.${i}`, out, depth + 1));
    return;
  }
  if (isObject(v)) checkObject(s, root, v, path, out, depth);
}

function checkObject(s: JsonSchema, root: JsonSchema, v: Record<string, unknown>, path: string, out: Record<string, string>, depth: number): void {
  const properties = isObject(s.properties) ? (s.properties as Record<string, JsonSchema>) : {};
  const at = (key: string): string => (path ? `${path}.${key}` : key);
  for (const key of Array.isArray(s.required) ? (s.required as string[]) : []) {
    if (v[key] === undefined) out[at(key)] = "Required.";
  }
  const names = isObject(s.propertyNames) ? s.propertyNames : null;
  const count = Object.values(v).filter((x) => x !== undefined).length;
  if (typeof s.maxProperties === "number" && count > s.maxProperties && path) out[path] = `Takes at most ${s.maxProperties} entries.`;
  for (const [key, item] of Object.entries(v)) {
    if (item === undefined) continue;
    if (item instanceof InvalidJson) {
      // Whatever the schema says of this key, text that did not parse is not a value to send.
      out[at(key)] = `Not valid JSON: ${item.reason}`;
      continue;
    }
    if (names && typeof names.pattern === "string" && !matches(names.pattern, key)) {
      out[at(key)] = `The name '${key}' must match the pattern ${names.pattern}.`;
      continue;
    }
    if (Object.hasOwn(properties, key)) check(properties[key]!, root, item, at(key), out, depth + 1);
    else if (s.additionalProperties === false) out[at(key)] = `Unknown field '${key}'.`;
    else if (isObject(s.additionalProperties)) check(s.additionalProperties, root, item, at(key), out, depth + 1);
  }
}

function matches(pattern: string, v: string): boolean {
  try {
    return new RegExp(pattern, "u").test(v);
  } catch {
    return true; // a pattern this browser cannot compile is the server's to check (it matches with RE2)
  }
}

/**
 * The problems of `value` (the object the form edits) against `schema`, keyed by field path
 * (`name`, `nested.name`, `list.0`), each a sentence for the user. Empty when the value fits.
 */
export function validateValue(schema: JsonSchema, value: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  checkObject(resolve(schema, schema), schema, value, "", out, 0);
  return out;
}

/** Deep equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** The keys of `value` whose value differs (deeply) from `base`'s: what a user changed from the defaults. */
export function changedFrom(base: Record<string, unknown>, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined && !deepEqual(base[key], v)) out[key] = v;
  }
  return out;
}
