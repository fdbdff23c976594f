import { describe, expect, it } from "vitest";
import { checkResources, parseQuantity } from "./quantity.js";

describe("parseQuantity", () => {
  it.each([
    ["512Mi", 512 * 2 ** 20],
    ["2Gi", 2 * 2 ** 30],
    ["1000m", 1],
    ["1.5", 1.5],
    ["2", 2],
    ["1G", 1e9],
    ["500k", 5e5],
    ["1e3", 1000],
    [".5", 0.5],
  ])("%s is %d", (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value, 6);
  });

  it.each(["", "Mi", "512MB", "-1Gi", "1,5", "one", "512 Mi", "1.Gi"])("'%s' is not a quantity", (text) => {
    expect(parseQuantity(text)).toBeNull();
  });
});

describe("checkResources", () => {
  it("accepts the defaults and Cloud Run's edges", () => {
    expect(checkResources("1000m", "512Mi")).toEqual({ cpus: 1, memoryBytes: 512 * 2 ** 20 });
    expect(checkResources("8", "32Gi").memoryBytes).toBe(32 * 2 ** 30);
    expect(checkResources("2", "4Gi").cpus).toBe(2);
    expect(checkResources("1", "4Gi").cpus).toBe(1);
  });

  it("refuses what is not a quantity, naming the variable and the form", () => {
    expect(() => checkResources("1000m", "512MB")).toThrow(/memory job variable '512MB' is not a Kubernetes quantity: write it like '512Mi'/);
    expect(() => checkResources("one", "512Mi")).toThrow(/cpu job variable 'one' is not a Kubernetes quantity/);
  });

  it("refuses memory outside 512Mi–32Gi and cpu outside 1–8", () => {
    expect(() => checkResources("1", "256Mi")).toThrow(/between '512Mi' and '32Gi'/);
    expect(() => checkResources("8", "33Gi")).toThrow(/between '512Mi' and '32Gi'/);
    expect(() => checkResources("500m", "512Mi")).toThrow(/between '1000m' \(1 CPU\) and '8'/);
    expect(() => checkResources("16", "512Mi")).toThrow(/between '1000m'/);
  });

  it("asks for the CPUs Cloud Run needs for large memory", () => {
    expect(() => checkResources("1", "5Gi")).toThrow(/at least 2 CPUs for memory '5Gi'/);
    expect(() => checkResources("2", "9Gi")).toThrow(/at least 4 CPUs/);
    expect(() => checkResources("4", "17Gi")).toThrow(/at least 6 CPUs/);
    expect(() => checkResources("6", "25Gi")).toThrow(/at least 8 CPUs/);
    expect(checkResources("6", "24Gi").cpus).toBe(6);
  });

  it("is a validation error, not retryable", () => {
    try {
      checkResources("1", "1Ti");
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: "validation_failed", retryable: false });
    }
  });
});
