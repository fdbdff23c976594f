import { describe, expect, it } from "vitest";
import { safeNext } from "../src/api/session.js";

describe("safeNext: where sign-in goes afterwards", () => {
  it("keeps a local path with its query and hash", () => {
    expect(safeNext("/runs/0b1c?state=RUNNING#logs")).toBe("/runs/0b1c?state=RUNNING#logs");
    expect(safeNext("/work-pools/my-pool")).toBe("/work-pools/my-pool");
  });

  it.each([
    ["another origin", "https://evil.example/steal"],
    ["a protocol-relative URL", "//evil.example/x"],
    ["a backslash browsers read as //", "/\\evil.example"],
    ["a javascript: URL", "javascript:alert(1)"],
    ["a relative path", "runs"],
    ["a control character", "/runs\n//evil.example"],
    ["the sign-in page itself", "/sign-in?next=/runs"],
    ["nothing", undefined],
    ["not a string", 42],
    ["an empty string", ""],
  ])("falls back to /runs for %s", (_what, next) => {
    expect(safeNext(next)).toBe("/runs");
  });
});
