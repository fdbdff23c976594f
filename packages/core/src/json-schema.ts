import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { RE2JS } from "re2js";
import { clip, FerryError, validationError, type ValidationIssue } from "./errors.js";
import { formatBytes, jsonShape, LIMITS } from "./limits.js";

// ajv-formats ships CommonJS with a default export; under NodeNext the callable is on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

export type JsonSchema = Record<string, unknown>;

/**
 * Schemas come from users (a deployment's `parameter_schema`, a pool's job template), and JavaScript's
 * own RegExp backtracks: `^(a+)+$` against forty a's and a `!` holds the event loop for minutes. RE2
 * matches in time linear in the input, so every `pattern` is compiled with it (RE2JS, a pure-JavaScript
 * port: core is bundled into the engine, the Action and the extension, where a native addon cannot go).
 * RE2 has no lookaround or backreferences; such a pattern is refused when the schema is compiled.
 */
export function linearRegExp(pattern: string, flags: string): { test(text: string): boolean; toString(): string } {
  if (pattern.length > LIMITS.patternLength) {
    throw new Error(`pattern '${clip(pattern, 60)}' is ${pattern.length} characters long; the limit is ${LIMITS.patternLength}`);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch (error) {
    throw new Error(
      `pattern '${clip(pattern, 100)}' is not supported: ${(error as Error).message}; ` +
        "Ferry matches patterns with RE2 (linear time), which has no lookahead, lookbehind or backreferences",
      { cause: error },
    );
  }
  // Ajv caches compiled patterns by toString(): it must tell patterns apart.
  const text = `/${pattern}/${flags}`;
  return { test: (input: string) => re.test(input), toString: () => text };
}
// Ajv emits this name only when generating standalone code, which Ferry does not do.
linearRegExp.code = "linearRegExp";

/**
 * An Ajv as Ferry validates everywhere: every error reported, patterns in linear time, formats known.
 * `coerceTypes` is for text only (query strings, path parameters, headers): a JSON body's "5" is not a
 * number. ownProperties: a property named like one every object inherits (`constructor`, `toString`)
 * is checked only when the value has it, not found on Object.prototype and refused.
 */
export function createAjv(options: { coerceTypes?: false | "array" } = {}): Ajv {
  const ajv = addFormats(
    new Ajv({
      allErrors: true,
      strict: false,
      useDefaults: true,
      coerceTypes: options.coerceTypes ?? false,
      removeAdditional: false,
      addUsedSchema: false,
      ownProperties: true,
      code: { regExp: linearRegExp },
    }),
  );
  // Ajv compares items pairwise (quadratic) unless they are typed scalars: 20,000 objects took seconds.
  ajv.removeKeyword("uniqueItems");
  ajv.addKeyword({ keyword: "uniqueItems", type: "array", schemaType: "boolean", validate: uniqueItems });
  return ajv;
}

/** `uniqueItems` in time linear in the data: each item's canonical JSON (keys sorted) goes into a map. */
function uniqueItems(this: unknown, schema: boolean, data: unknown[]): boolean {
  if (!schema) return true;
  const seen = new Map<string, number>();
  for (let j = 0; j < data.length; j++) {
    const key = canonicalJson(data[j]);
    const i = seen.get(key);
    if (i !== undefined) {
      uniqueItems.errors = [{ keyword: "uniqueItems", instancePath: "", schemaPath: "", params: { i, j }, message: `must NOT have duplicate items (items ## ${i} and ${j} are identical)` }];
      return false;
    }
    seen.set(key, j);
  }
  return true;
}
uniqueItems.errors = undefined as Partial<ErrorObject>[] | undefined;

/** JSON with object keys sorted, so equal values give equal text whatever their keys' order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const ajv = createAjv();
// Annotation keywords Ferry adds to schemas; Ajv must accept them.
ajv.addKeyword({ keyword: "x-ferry-secret", schemaType: "boolean" });

const cache = new Map<string, ValidateFunction>();
const keyedCache = new Map<string, ValidateFunction>();
const stats = { hits: 0, misses: 0 };

/** How often `compileSchema` found a compiled schema and how often it compiled one, since the process started. */
export function schemaCacheStats(): { hits: number; misses: number } {
  return { ...stats };
}

/**
 * Compiles (and caches) a JSON Schema; a schema that is itself invalid is a validation error on `what`.
 * Cached by `cacheKey` when given: a key that changes whenever the schema does (a hash the store keeps
 * with it), so a hot path that validates against the same stored schema on every request does not
 * serialise the schema to find it. Without a key the schema's JSON is the key.
 */
export function compileSchema(schema: JsonSchema, what: string, cacheKey?: string): ValidateFunction {
  if (cacheKey !== undefined) {
    const found = keyedCache.get(cacheKey);
    if (found) {
      stats.hits++;
      return found;
    }
    const fn = compileUncached(schema, JSON.stringify(schema), what);
    if (keyedCache.size > 1000) keyedCache.clear();
    keyedCache.set(cacheKey, fn);
    return fn;
  }
  const key = JSON.stringify(schema);
  let fn = cache.get(key);
  if (fn) {
    stats.hits++;
    return fn;
  }
  fn = compileUncached(schema, key, what);
  if (cache.size > 1000) cache.clear();
  cache.set(key, fn);
  return fn;
}

function compileUncached(schema: JsonSchema, json: string, what: string): ValidateFunction {
  stats.misses++;
  checkSchemaBounds(schema, json, what);
  try {
    return ajv.compile(schema);
  } catch (error) {
    throw new FerryError("validation_failed", `${what} is not a valid JSON Schema: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** A schema's size and nesting are bounded: compiling one generates code in proportion to both. */
function checkSchemaBounds(schema: JsonSchema, json: string, what: string): void {
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes > LIMITS.schemaBytes) {
    throw new FerryError("payload_too_large", `${what} takes ${formatBytes(bytes)} as JSON; the limit is ${formatBytes(LIMITS.schemaBytes)}`, {
      details: { limit_bytes: LIMITS.schemaBytes },
    });
  }
  const shape = jsonShape(schema, LIMITS.schemaDepth, LIMITS.schemaNodes);
  if (shape.depth > LIMITS.schemaDepth) {
    throw new FerryError("validation_failed", `${what} is nested more than ${LIMITS.schemaDepth} levels deep (the limit); use $defs and $ref for repeated parts`, {
      details: { limit_depth: LIMITS.schemaDepth },
    });
  }
  if (shape.nodes > LIMITS.schemaNodes) {
    throw new FerryError("payload_too_large", `${what} has more than ${LIMITS.schemaNodes} objects and arrays (the limit); use $defs and $ref for repeated parts`, {
      details: { limit_nodes: LIMITS.schemaNodes },
    });
  }
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
export function validateWithSchema<T = Record<string, unknown>>(schema: JsonSchema, value: unknown, what: string, cacheKey?: string): T {
  const fn = compileSchema(schema, `${what} schema`, cacheKey);
  const copy = value === undefined ? undefined : structuredClone(value);
  if (!fn(copy)) throw validationError(`${what} are invalid`, issuesFromAjv(fn.errors));
  return copy as T;
}
