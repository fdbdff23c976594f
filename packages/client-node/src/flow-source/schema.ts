/**
 * JSON Schema helpers that the Python and the JavaScript/TypeScript parameter schemas share: building
 * arrays, maps, unions and top-level properties, and checking that a literal default fits its schema.
 */

import type { ParameterSchema } from "./types.js";

export type Schema = Record<string, unknown>;
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A default that is a literal, as its JSON value. */
export interface Literal {
  value: Json;
}
export const NOT_LITERAL: unique symbol = Symbol("not a literal");
/** How deep named types, forward references and nested types are followed. */
export const MAX_DEPTH = 8;

/** `object[key] = value`, as an own property even for `__proto__`. */
export function setOwn<T>(object: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

export function parameterSchemaOf(properties: Record<string, Schema>, required: string[], extraKeys: boolean): ParameterSchema {
  const schema: ParameterSchema = { type: "object", properties };
  if (required.length > 0) schema.required = required;
  if (!extraKeys) schema.additionalProperties = false;
  return schema;
}

const isUnconstrained = (schema: Schema): boolean => Object.keys(schema).length === 0;

export function arrayOf(items: Schema): Schema {
  return isUnconstrained(items) ? { type: "array" } : { type: "array", items };
}

export function objectOf(values: Schema): Schema {
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
export function unionOf(options: Schema[], nullable: boolean): Schema {
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
export function property(name: string, schema: Schema, fallback: Literal | null): Schema {
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
export const inherited = (key: string): boolean => key in Object.prototype;

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
