import { describe, expect, it } from "vitest";
import { FerryError } from "./errors.js";
import { compileSchema, issuesFromAjv, validateWithSchema } from "./json-schema.js";

function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    return error as FerryError;
  }
  throw new Error("expected a FerryError");
}

const SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["day"],
  properties: {
    day: { type: "string", format: "date" },
    mode: { enum: ["full", "delta"], default: "delta" },
    retries: { type: "integer", minimum: 0, default: 3 },
    token: { type: "string", "x-ferry-secret": true },
  },
};

describe("compileSchema", () => {
  it("returns the same function for the same schema", () => {
    expect(compileSchema({ type: "string" }, "s")).toBe(compileSchema({ type: "string" }, "s"));
  });

  it("refuses an invalid schema, naming what it is for", () => {
    const error = thrown(() => compileSchema({ type: "strnig" }, "parameter_schema"));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toMatch(/^parameter_schema is not a valid JSON Schema: schema is invalid: /);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("accepts Ferry's x-ferry-secret annotation but only as a boolean", () => {
    expect(() => compileSchema({ type: "string", "x-ferry-secret": true }, "s")).not.toThrow();
    expect(() => compileSchema({ type: "string", "x-ferry-secret": "yes" }, "s")).toThrow(FerryError);
  });
});

describe("validateWithSchema", () => {
  it("returns a copy with defaults filled in, leaving the input alone", () => {
    const input = { day: "2026-03-01" };
    expect(validateWithSchema(SCHEMA, input, "parameters")).toEqual({ day: "2026-03-01", mode: "delta", retries: 3 });
    expect(input).toEqual({ day: "2026-03-01" });
  });

  it("checks formats", () => {
    expect(thrown(() => validateWithSchema(SCHEMA, { day: "yesterday" }, "parameters")).message).toBe(
      'parameters are invalid: /day must match format "date"',
    );
  });

  it("lists every problem with the field to fix", () => {
    const error = thrown(() => validateWithSchema(SCHEMA, { mode: "all", retries: -1, extra: 1 }, "parameters"));
    expect(error.message).toBe(
      "parameters are invalid: must have required property 'day'; /extra is not a known field; " +
        '/mode must be one of "full", "delta"; /retries must be >= 0',
    );
    expect(error.details).toEqual({
      issues: [
        { path: "", message: "must have required property 'day'" },
        { path: "/extra", message: "is not a known field" },
        { path: "/mode", message: 'must be one of "full", "delta"' },
        { path: "/retries", message: "must be >= 0" },
      ],
    });
  });

  it("refuses a missing value when the schema wants an object", () => {
    expect(thrown(() => validateWithSchema(SCHEMA, undefined, "parameters")).message).toBe("parameters are invalid: must be object");
  });
});

describe("issuesFromAjv", () => {
  it("has no issues without errors", () => {
    expect(issuesFromAjv(null)).toEqual([]);
    expect(issuesFromAjv(undefined)).toEqual([]);
  });

  it("points an unknown field at the field itself, also when nested", () => {
    const fn = compileSchema({ type: "object", properties: { a: { type: "object", additionalProperties: false } } }, "s");
    expect(fn({ a: { b: 1 } })).toBe(false);
    expect(issuesFromAjv(fn.errors)).toEqual([{ path: "/a/b", message: "is not a known field" }]);
  });
});

describe("properties named like Object.prototype's", () => {
  it("are checked on the value itself, not found on its prototype", () => {
    const schema = { type: "object", properties: { constructor: { type: "integer" }, valueOf: { type: "string" } } };
    expect(validateWithSchema(schema, {}, "parameters")).toEqual({});
    expect(validateWithSchema(schema, { constructor: 3 }, "parameters")).toEqual({ constructor: 3 });
    expect(() => validateWithSchema(schema, { valueOf: 1 }, "parameters")).toThrow(/valueOf/);
  });
});

describe("patterns in user schemas", () => {
  it("matches in linear time: a pattern that backtracks exponentially in JavaScript answers at once", () => {
    // With JavaScript's RegExp this does not return for far longer than the test's timeout.
    const schema = { type: "string", pattern: "^(a+)+$" };
    const error = thrown(() => validateWithSchema(schema, `${"a".repeat(5000)}!`, "parameters"));
    expect(error.message).toMatch(/must match pattern/);
    expect(validateWithSchema(schema, "aaaa", "parameters")).toBe("aaaa");
    const props = { type: "object", patternProperties: { "^(x+x+)+y$": { type: "integer" } } };
    expect(() => validateWithSchema(props, { [`${"x".repeat(3000)}`]: "not checked" }, "parameters")).not.toThrow();
  });

  it("keeps JavaScript's pattern syntax for what RE2 supports", () => {
    const schema = { type: "string", pattern: "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$" };
    expect(() => validateWithSchema(schema, "my-pool", "name")).not.toThrow();
    expect(() => validateWithSchema(schema, "My pool", "name")).toThrow(/must match pattern/);
    expect(() => validateWithSchema({ type: "string", pattern: "^\\u00e9t\\/\\d{2}$" }, "ét/12", "v")).not.toThrow();
    expect(() => validateWithSchema({ type: "string", pattern: "^(?<year>\\d{4})$" }, "2026", "v")).not.toThrow();
  });

  it("refuses a pattern RE2 cannot run, saying why", () => {
    for (const pattern of ["^(?=a)a$", "^(a)\\1$"]) {
      const error = thrown(() => compileSchema({ type: "string", pattern }, "parameter_schema"));
      expect(error.code).toBe("validation_failed");
      expect(error.message).toMatch(/^parameter_schema is not a valid JSON Schema: pattern '.*' is not supported: .*RE2/);
    }
    const long = thrown(() => compileSchema({ type: "string", pattern: "a".repeat(5000) }, "parameter_schema"));
    expect(long.message).toMatch(/is 5000 characters long; the limit is 1000/);
    expect(long.message.length).toBeLessThan(400);
  });

  it("does not mix up two patterns (Ajv caches compiled patterns by their text)", () => {
    const schema = { type: "object", properties: { a: { type: "string", pattern: "^a+$" }, b: { type: "string", pattern: "^b+$" } } };
    expect(() => validateWithSchema(schema, { a: "aa", b: "bb" }, "v")).not.toThrow();
    expect(() => validateWithSchema(schema, { a: "bb", b: "aa" }, "v")).toThrow(/\/a must match pattern.*\/b must match pattern/);
  });
});

describe("uniqueItems", () => {
  it("checks in linear time, whatever the items, and names a duplicate pair", () => {
    // Ajv's own check compares every pair of objects: seconds for this array, minutes for a larger one.
    const items = Array.from({ length: 50_000 }, (_, i) => ({ i, tags: [i % 7] }));
    const schema = { type: "array", uniqueItems: true };
    expect(() => validateWithSchema(schema, items, "parameters")).not.toThrow();
    const error = thrown(() => validateWithSchema(schema, [...items, { tags: [3], i: 3 }], "parameters"));
    expect(error.message).toMatch(/must NOT have duplicate items \(items ## 3 and 50000 are identical\)/);
    expect(() => validateWithSchema({ type: "array", uniqueItems: false }, [1, 1], "parameters")).not.toThrow();
    expect(() => validateWithSchema({ type: "array", uniqueItems: true }, [1, "1", null, [1], { a: 1 }], "parameters")).not.toThrow();
    // Linear is well under a second even on a loaded machine; the pairwise check takes minutes, far past this.
  }, 30_000);
});

describe("schema bounds", () => {
  it("refuses a schema nested deeper than the limit, naming it", () => {
    let schema: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 40; i++) schema = { type: "object", properties: { x: schema } };
    const error = thrown(() => compileSchema(schema, "parameter_schema"));
    expect(error.code).toBe("validation_failed");
    expect(error.message).toMatch(/^parameter_schema is nested more than 32 levels deep \(the limit\)/);
  });

  it("refuses a schema larger than the limit, naming it", () => {
    const properties = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`field_${i}`, { type: "string", description: "x".repeat(300) }]));
    const error = thrown(() => compileSchema({ type: "object", properties }, "parameter_schema"));
    expect(error.code).toBe("payload_too_large");
    expect(error.message).toMatch(/^parameter_schema takes [\d.]+ KiB as JSON; the limit is 128 KiB$/);
  });

  it("refuses a schema of more subschemas than the limit (each costs compile time), naming it", () => {
    const error = thrown(() => compileSchema({ anyOf: Array.from({ length: 1200 }, (_, i) => ({ const: i })) }, "parameter_schema"));
    expect(error.code).toBe("payload_too_large");
    expect(error.message).toMatch(/^parameter_schema has more than 1000 objects and arrays \(the limit\)/);
  });
});
