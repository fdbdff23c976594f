import { describe, expect, it } from "vitest";
import { parameterPrompts, parseJobVariables, parseParameter, type ParameterPrompt } from "../src/parameters.js";

const schema = {
  type: "object",
  properties: {
    day: { type: "string", description: "The day to process" },
    rows: { type: "integer", default: 10 },
    ratio: { type: ["number", "null"] },
    dry_run: { type: "boolean", title: "Dry run" },
    tables: { type: "array", items: { type: "string" } },
    mode: { type: "string", enum: ["fast", "full"] },
  },
  required: ["day", "rows"],
};

describe("parameterPrompts", () => {
  it("asks for each property in schema order, typed, prefilled with the deployment's default over the schema's", () => {
    const prompts = parameterPrompts(schema, { day: "2026-11-01", tables: ["a"] });
    expect(prompts.map((p) => [p.name, p.kind, p.required, p.initial])).toEqual([
      ["day", "string", false, "2026-11-01"],
      ["rows", "integer", false, "10"],
      ["ratio", "number", false, null],
      ["dry_run", "boolean", false, null],
      ["tables", "json", false, '["a"]'],
      ["mode", "string", false, null],
    ]);
    expect(prompts[0]!.description).toBe("The day to process");
    expect(prompts[3]!.description).toBe("Dry run");
    expect(prompts[5]!.enum).toEqual(["fast", "full"]);
  });

  it("marks a required parameter with no default as required", () => {
    const prompts = parameterPrompts(schema, {});
    expect(prompts.find((p) => p.name === "day")!.required).toBe(true);
    expect(prompts.find((p) => p.name === "rows")!.required).toBe(false);
  });

  it("without a schema, offers the deployment's default parameters", () => {
    expect(parameterPrompts(null, { name: "Ferry", n: 3 }).map((p) => [p.name, p.kind, p.initial])).toEqual([
      ["name", "string", "Ferry"],
      ["n", "json", "3"],
    ]);
    expect(parameterPrompts(null, {})).toEqual([]);
  });
});

describe("parseParameter", () => {
  const prompt = (kind: ParameterPrompt["kind"], extra: Partial<ParameterPrompt> = {}): ParameterPrompt => ({
    name: "p",
    kind,
    required: false,
    description: null,
    enum: null,
    initial: null,
    ...extra,
  });

  it("reads each kind", () => {
    expect(parseParameter(prompt("string"), " padded ")).toEqual({ ok: true, value: " padded ", omitted: false });
    expect(parseParameter(prompt("integer"), "42")).toEqual({ ok: true, value: 42, omitted: false });
    expect(parseParameter(prompt("number"), "0.5")).toEqual({ ok: true, value: 0.5, omitted: false });
    expect(parseParameter(prompt("boolean"), "TRUE")).toEqual({ ok: true, value: true, omitted: false });
    expect(parseParameter(prompt("json"), '{"a": [1]}')).toEqual({ ok: true, value: { a: [1] }, omitted: false });
  });

  it("says what is wrong", () => {
    expect(parseParameter(prompt("integer"), "4.5")).toEqual({ ok: false, error: "p must be a whole number, e.g. 3" });
    expect(parseParameter(prompt("number"), "ten")).toEqual({ ok: false, error: "p must be a number, e.g. 3" });
    expect(parseParameter(prompt("boolean"), "yes")).toEqual({ ok: false, error: "p must be true or false" });
    expect(parseParameter(prompt("json"), "{oops")).toMatchObject({ ok: false });
    expect(parseParameter(prompt("string", { enum: ["fast", "full"] }), "slow")).toEqual({ ok: false, error: 'p must be one of "fast", "full"' });
  });

  it("leaves an empty optional parameter out and refuses an empty required one", () => {
    expect(parseParameter(prompt("string"), "  ")).toEqual({ ok: true, value: undefined, omitted: true });
    expect(parseParameter(prompt("string", { required: true }), "")).toEqual({ ok: false, error: "p is required" });
  });
});

describe("parseJobVariables", () => {
  it("takes a JSON object, or nothing", () => {
    expect(parseJobVariables("")).toEqual({ ok: true, value: {} });
    expect(parseJobVariables('{"memory": 1024}')).toEqual({ ok: true, value: { memory: 1024 } });
  });
  it("refuses anything else with an example", () => {
    expect(parseJobVariables("[1]")).toEqual({ ok: false, error: 'job variables must be a JSON object, e.g. {"memory": 1024}' });
    expect(parseJobVariables("memory=1")).toMatchObject({ ok: false });
  });
});
