import { FerryError } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { collect, keyValues, parseKeyValue } from "./key-value.js";

describe("parseKeyValue", () => {
  it.each<[string, unknown]>([
    ["day=2026-01-01", "2026-01-01"],
    ["n=3", 3],
    ["ratio=0.5", 0.5],
    ["flag=true", true],
    ["none=null", null],
    ['list=["pandas","numpy"]', ["pandas", "numpy"]],
    ['obj={"a":{"b":1}}', { a: { b: 1 } }],
    ['quoted="007"', "007"],
    ["empty=", ""],
    ["text=hello world", "hello world"],
    ["url=https://x.test/?a=b", "https://x.test/?a=b"],
    ["broken={not json", "{not json"],
  ])("parses %s", (text, value) => {
    expect(parseKeyValue(text, "--param")[1]).toEqual(value);
  });

  it("splits at the first '='", () => {
    expect(parseKeyValue("expr=a=b", "--param")).toEqual(["expr", "a=b"]);
  });

  it.each(["novalue", "=x", " =x", "a b=c"])("rejects %j naming the flag", (text) => {
    expect(() => parseKeyValue(text, "--job-variable")).toThrow(FerryError);
    expect(() => parseKeyValue(text, "--job-variable")).toThrow(/--job-variable '.*' must be KEY=VALUE/);
  });
});

describe("keyValues", () => {
  it("builds an object, the last of a repeated key winning", () => {
    expect(keyValues(["a=1", "b=x", "a=2"], "--param")).toEqual({ a: 2, b: "x" });
    expect(keyValues(undefined, "--param")).toEqual({});
  });

  it("can keep values as text", () => {
    expect(keyValues(["id=123"], "--field", (raw) => raw)).toEqual({ id: "123" });
  });

  it("accumulates repeated options", () => {
    expect(collect("b", collect("a", undefined))).toEqual(["a", "b"]);
  });
});
