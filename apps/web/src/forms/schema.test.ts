import { describe, expect, it } from "vitest";
import { fixtures } from "../../test/fixtures/schemas.js";
import { changedFrom, defaultsOf, InvalidJson, kindOf, resolve, splitNull, validateValue, type JsonSchema } from "./schema.js";

const parameterSchema = fixtures.parameterSchemas[0]!.schema as JsonSchema;
const pydantic = fixtures.parameterSchemas[1]!.schema as JsonSchema;

describe("resolve, splitNull, kindOf", () => {
  it("follows $ref into definitions and $defs and merges allOf with its siblings", () => {
    const props = pydantic.properties as Record<string, JsonSchema>;
    expect(resolve(props.config!, pydantic)).toMatchObject({ title: "config", type: "object", required: ["name"] });
    expect(resolve(props.color!, pydantic)).toMatchObject({ enum: ["red", "green", "blue"], default: "red", title: "color" });
    const accent = splitNull(props.accent!, pydantic);
    expect(accent.nullable).toBe(true);
    expect(kindOf(accent.schema, pydantic)).toEqual({ kind: "enum", options: ["light", "dark"] });
  });

  it("stops at a $ref cycle instead of looping", () => {
    const schema: JsonSchema = { definitions: { A: { $ref: "#/definitions/A" } }, properties: { a: { $ref: "#/definitions/A" } } };
    expect(() => resolve((schema.properties as Record<string, JsonSchema>).a!, schema)).not.toThrow();
  });

  it("gives every job variable of every pool type a control, JSON only for arrays of objects and maps of non-strings", () => {
    for (const { schema, source } of fixtures.jobVariables) {
      for (const [name, property] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
        const { schema: inner } = splitNull(property, schema);
        const kind = kindOf(inner, schema).kind;
        const items = inner.items as JsonSchema | undefined;
        const values = inner.additionalProperties as JsonSchema | undefined;
        const complex = items?.type === "object" || (typeof values === "object" && values.type !== "string");
        expect(kind === "json", `${source} ${name} is ${kind}`).toBe(complex);
      }
    }
  });

  it("reads the parameter schema ferry deploy derives from a Python signature", () => {
    const props = parameterSchema.properties as Record<string, JsonSchema>;
    const kinds = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, kindOf(splitNull(s, parameterSchema).schema, parameterSchema).kind]));
    expect(kinds).toEqual({
      source: "string",
      limit: "integer",
      ratio: "number",
      dry_run: "boolean",
      mode: "enum",
      day: "string",
      since: "string",
      tags: "list",
      weights: "json",
      key: "scalar-union",
      rows: "json",
    });
  });
});

describe("defaultsOf", () => {
  it("takes each property's default, through $ref and allOf, and required nested objects' defaults", () => {
    expect(defaultsOf(pydantic)).toEqual({ config: { retries: 3 }, color: "red", people: [], accent: null });
  });

  it("starts a required boolean without a default at false (a checkbox has no 'not set')", () => {
    const schema: JsonSchema = { type: "object", properties: { flag: { type: "boolean" }, maybe: { type: ["boolean", "null"] }, opt: { type: "boolean" } }, required: ["flag", "maybe"] };
    expect(defaultsOf(schema)).toEqual({ flag: false });
  });

  it("returns the job variables' defaults with their types (numbers stay numbers)", () => {
    const managed = fixtures.jobVariables[0]!.schema as JsonSchema;
    expect(defaultsOf(managed)).toEqual({ image: "ferry-engine:latest", pip_packages: [], npm_packages: [], env: {} });
    const defaults = fixtures.jobVariables.map((j) => defaultsOf(j.schema as JsonSchema));
    for (const d of defaults) expect(validateValue(fixtures.jobVariables[defaults.indexOf(d)]!.schema as JsonSchema, d)).toEqual({});
  });

  it("gives copies, so editing a default does not change the schema", () => {
    const managed = fixtures.jobVariables[0]!.schema as JsonSchema;
    (defaultsOf(managed).pip_packages as string[]).push("x");
    expect(defaultsOf(managed).pip_packages).toEqual([]);
  });
});

describe("validateValue", () => {
  it("reports missing required fields, nested ones under their path", () => {
    expect(validateValue(pydantic, { config: {} })).toEqual({ "config.name": "Required.", owner: "Required.", when: "Required." });
  });

  it("checks types, enums, bounds, lengths, patterns and formats in plain words", () => {
    const errors = validateValue(pydantic, {
      config: { name: "x", retries: 11 },
      owner: { name: 5, email: "nobody" },
      color: "purple",
      when: "31/01/2025",
      code: "abcd",
    });
    expect(errors).toEqual({
      "config.name": "Must be at least 2 characters long.",
      "config.retries": "Must be at most 10.",
      "owner.name": "Must be text.",
      "owner.email": "Must be an email address.",
      color: "Must be one of: red, green, blue.",
      when: "Must be a date (YYYY-MM-DD).",
      code: "Must match the pattern ^[A-Z]{3}$.",
    });
    expect(validateValue(pydantic, { config: { name: "ok", retries: -1 }, owner: { name: "a" }, when: "2025-01-31" })).toEqual({ "config.retries": "Must be at least 0." });
  });

  it("checks integers, unions, list items, map values, maxLength and unknown keys", () => {
    expect(validateValue(parameterSchema, { source: "s", limit: 1.5 })).toEqual({ limit: "Must be a whole number." });
    expect(validateValue(parameterSchema, { source: "s", limit: "12" })).toEqual({ limit: "Must be a whole number." });
    expect(validateValue(parameterSchema, { source: "s", key: true })).toEqual({ key: "Must be a whole number or text." });
    expect(validateValue(parameterSchema, { source: "s", tags: ["a", 2] })).toEqual({ "tags.1": "Must be text." });
    expect(validateValue(parameterSchema, { source: "s", weights: { a: "x" } })).toEqual({ "weights.a": "Must be a number." });
    expect(validateValue(parameterSchema, { source: "s", nope: 1 })).toEqual({ nope: "Unknown field 'nope'." });
    expect(validateValue(parameterSchema, { source: "s", since: "2025-01-31T10:00:00" })).toEqual({ since: "Must be a date and time with a time zone (e.g. 2025-01-31T09:30:00Z)." });
    expect(validateValue(parameterSchema, { source: "s", day: null, since: null, key: "k" })).toEqual({});
  });

  it("checks job variables: minimum, maxItems, nullable, exclusiveMinimum, propertyNames", () => {
    const all = fixtures.jobVariables.map((j) => j.schema as JsonSchema);
    const withMinimum = all.find((s) => (s.properties as Record<string, JsonSchema>).cpu?.type === "integer")!;
    expect(validateValue(withMinimum, { cpu: 5 })).toEqual({ cpu: "Must be at least 128." });
    const managed = all[0]!;
    expect(validateValue(managed, { pip_packages: Array.from({ length: 201 }, () => "p") })).toEqual({ pip_packages: "Takes at most 200 items." });
    expect(validateValue(managed, { pip_packages: [""] })).toEqual({ "pip_packages.0": "Must not be empty." });
    expect(validateValue(managed, { image: null })).toEqual({ image: "Must not be empty." });
    const withNumberCpu = all.find((s) => (s.properties as Record<string, JsonSchema>).cpu?.exclusiveMinimum === 0 && (s.properties as Record<string, JsonSchema>).cpu?.type === "number")!;
    expect(validateValue(withNumberCpu, { cpu: 0 })).toEqual({ cpu: "Must be more than 0." });
    const withLabels = all.find((s) => (s.properties as Record<string, JsonSchema>).labels?.propertyNames)!;
    expect(validateValue(withLabels, { labels: { Bad: "x", good: "y" } })).toEqual({ "labels.Bad": "The name 'Bad' must match the pattern ^[a-z][a-z0-9_-]{0,62}$." });
  });

  it("reports JSON that did not parse", () => {
    expect(validateValue(parameterSchema, { source: "s", rows: new InvalidJson("[{", "Unexpected end") })).toEqual({ rows: "Not valid JSON: Unexpected end" });
  });
});

describe("changedFrom", () => {
  it("keeps only keys whose value differs deeply, ignoring key order", () => {
    const base = { image: "i", env: { A: "1", B: "2" }, pip_packages: [], cpu: 1 };
    expect(changedFrom(base, { image: "i", env: { B: "2", A: "1" }, pip_packages: [], cpu: 1 })).toEqual({});
    expect(changedFrom(base, { image: "i", env: { A: "1" }, pip_packages: ["pandas"], cpu: 2, extra: null })).toEqual({
      env: { A: "1" },
      pip_packages: ["pandas"],
      cpu: 2,
      extra: null,
    });
    expect(changedFrom(base, { image: undefined })).toEqual({});
  });
});
