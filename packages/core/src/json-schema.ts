import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { FerryError, validationError, type ValidationIssue } from "./errors.js";

// ajv-formats ships CommonJS with a default export; under NodeNext the callable is on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

export type JsonSchema = Record<string, unknown>;

// ownProperties: a property named like one every object inherits (`constructor`, `toString`) is
// checked only when the value has it, not found on Object.prototype and refused.
const ajv = addFormats(
  new Ajv({ allErrors: true, strict: false, useDefaults: true, coerceTypes: false, addUsedSchema: false, ownProperties: true }),
);
// Annotation keywords Ferry adds to schemas; Ajv must accept them.
ajv.addKeyword({ keyword: "x-ferry-secret", schemaType: "boolean" });

const cache = new Map<string, ValidateFunction>();

/** Compiles (and caches by content) a JSON Schema; a schema that is itself invalid is a validation error on `what`. */
export function compileSchema(schema: JsonSchema, what: string): ValidateFunction {
  const key = JSON.stringify(schema);
  let fn = cache.get(key);
  if (!fn) {
    try {
      fn = ajv.compile(schema);
    } catch (error) {
      throw new FerryError("validation_failed", `${what} is not a valid JSON Schema: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (cache.size > 1000) cache.clear();
    cache.set(key, fn);
  }
  return fn;
}

export function issuesFromAjv(errors: ErrorObject[] | null | undefined): ValidationIssue[] {
  return (errors ?? []).map((e) => {
    if (e.keyword === "additionalProperties") {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return { path: `${e.instancePath}/${extra}`, message: "is not a known field" };
    }
    if (e.keyword === "enum") {
      return { path: e.instancePath, message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}` };
    }
    return { path: e.instancePath, message: e.message ?? "is invalid" };
  });
}

/**
 * Validates `value` against `schema`, returning a copy with the schema's defaults filled in.
 * Throws a validation error listing every problem, each with the path of the field to fix.
 */
export function validateWithSchema<T = Record<string, unknown>>(schema: JsonSchema, value: unknown, what: string): T {
  const fn = compileSchema(schema, `${what} schema`);
  const copy = value === undefined ? undefined : structuredClone(value);
  if (!fn(copy)) throw validationError(`${what} are invalid`, issuesFromAjv(fn.errors));
  return copy as T;
}
