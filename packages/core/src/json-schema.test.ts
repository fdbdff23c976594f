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
