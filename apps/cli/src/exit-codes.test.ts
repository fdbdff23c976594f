import { ERROR_CODES, FerryError, type ErrorCode } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { EXIT_CODES_HELP, ExitCode, exitCodeFor } from "./exit-codes.js";

describe("exitCodeFor", () => {
  it.each<[ErrorCode, number]>([
    ["validation_failed", 2],
    ["unauthenticated", 3],
    ["forbidden", 3],
    ["not_found", 4],
    ["conflict", 5],
    ["invalid_transition", 5],
    ["quota_exceeded", 5],
    ["network", 6],
    ["unavailable", 6],
    ["internal", 1],
    ["provider_error", 1],
  ])("maps %s to %i", (code, exit) => {
    expect(exitCodeFor(new FerryError(code, "x"))).toBe(exit);
  });

  it("maps every error code core knows", () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect(Object.values(ExitCode)).toContain(exitCodeFor(new FerryError(code, "x")));
    }
  });

  it("recognises a FerryError from another copy of core (the server's, a plugin's) by its brand", () => {
    const brand = Symbol.for("ferry.error");
    const foreign = Object.assign(new Error("FERRY_PORT is not a port"), { name: "FerryError", code: "validation_failed", [brand]: true });
    expect(exitCodeFor(foreign)).toBe(2);
    expect(exitCodeFor(Object.assign(new Error("x"), { name: "FerryError", code: "no_such_code", [brand]: true }))).toBe(1);
    expect(exitCodeFor(Object.assign(new Error("x"), { name: "FerryError", code: "validation_failed" }))).toBe(1);
  });

  it("treats errors that are not Ferry's as a plain failure", () => {
    expect(exitCodeFor(new Error("boom"))).toBe(1);
    expect(exitCodeFor("boom")).toBe(1);
  });

  it("documents every exit code", () => {
    for (const code of Object.values(ExitCode)) expect(EXIT_CODES_HELP).toMatch(new RegExp(`^  ${code} `, "m"));
  });
});
