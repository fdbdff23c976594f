import { describe, expect, it } from "vitest";
import { clip, validationError } from "./errors.js";
import { checkJsonDepth, checkJsonSize, formatBytes, jsonDepth, LIMITS } from "./limits.js";

describe("limits", () => {
  it("counts JSON depth without recursion, however deep", () => {
    expect(jsonDepth(1)).toBe(0);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth({ a: [1, { b: null }] })).toBe(3);
    let deep: unknown = 0;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(jsonDepth(deep)).toBe(200_000);
    expect(jsonDepth(deep, 64)).toBe(65);
  });

  it("refuses values past their limits with a message naming the limit", () => {
    let deep: unknown = 0;
    for (let i = 0; i < 65; i++) deep = { a: deep };
    expect(() => checkJsonDepth(deep, LIMITS.jsonDepth, "the request body")).toThrow(/nested more than 64 levels deep \(the limit\)/);
    expect(() => checkJsonSize({ a: "x".repeat(LIMITS.parametersBytes) }, LIMITS.parametersBytes, "parameters")).toThrow(
      expect.objectContaining({ code: "payload_too_large", message: expect.stringMatching(/^parameters take 512.1 KiB as JSON; the limit is 512 KiB/) }),
    );
    expect(() => checkJsonSize({ a: "x" }, LIMITS.parametersBytes, "parameters")).not.toThrow();
    expect(formatBytes(1024 * 1024)).toBe("1 MiB");
    expect(formatBytes(1500)).toBe("1.5 KiB");
    expect(formatBytes(12 * 1024 * 1024 + 1)).toBe("12.1 MiB");
    expect(formatBytes(100)).toBe("100 bytes");
  });

  it("cuts echoed input", () => {
    expect(clip("abc")).toBe("abc");
    expect(clip("x".repeat(1000))).toBe(`${"x".repeat(200)}…`);
    const issues = Array.from({ length: 500 }, (_, i) => ({ path: `/${"k".repeat(10_000)}${i}`, message: "is not a known field" }));
    const error = validationError("the body is invalid", issues);
    expect(error.message.length).toBeLessThan(6000);
    expect((error.details as { issues: unknown[] }).issues).toHaveLength(21);
    expect(error.message).toMatch(/and 480 more problems$/);
  });
});
