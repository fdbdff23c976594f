import { describe, expect, it } from "vitest";
import { ERROR_CODES, FERRY_ERROR_BRAND, FerryError, isErrorCode, isFerryError, notFound, toFerryError, validationError, type ErrorCode } from "./errors.js";

const EXPECTED: Record<ErrorCode, [status: number, retryable: boolean]> = {
  validation_failed: [400, false],
  unauthenticated: [401, false],
  forbidden: [403, false],
  not_found: [404, false],
  conflict: [409, false],
  invalid_transition: [409, false],
  quota_exceeded: [403, false],
  payload_too_large: [413, false],
  method_not_allowed: [405, false],
  request_timeout: [408, true],
  uri_too_long: [414, false],
  unsupported_media_type: [415, false],
  headers_too_large: [431, false],
  provider_error: [502, true],
  provider_throttled: [503, true],
  provider_auth: [502, false],
  provider_not_found: [502, false],
  provider_quota: [502, false],
  unavailable: [503, true],
  network: [503, true],
  internal: [500, false],
};

describe("FerryError", () => {
  it("covers exactly the expected codes", () => {
    expect(Object.keys(ERROR_CODES).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED) as [ErrorCode, [number, boolean]][])("%s has status and retryability from the table", (code, [status, retryable]) => {
    const error = new FerryError(code, "m");
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(retryable);
    expect(error.code).toBe(code);
  });

  it("is an Error with its own name, message and cause", () => {
    const cause = new Error("ECONNRESET");
    const error = new FerryError("provider_error", "the cloud did not answer", { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("FerryError");
    expect(error.message).toBe("the cloud did not answer");
    expect(error.cause).toBe(cause);
    expect(error.stack).toContain("FerryError: the cloud did not answer");
  });

  it("has no cause property unless one is given", () => {
    expect("cause" in new FerryError("internal", "m")).toBe(false);
  });

  it("lets a caller override retryability either way", () => {
    expect(new FerryError("provider_error", "m", { retryable: false }).retryable).toBe(false);
    expect(new FerryError("provider_auth", "m", { retryable: true }).retryable).toBe(true);
  });

  it("serialises to the API's error shape", () => {
    expect(new FerryError("conflict", "exists", { details: { name: "p" } }).toJSON()).toEqual({
      error: { code: "conflict", message: "exists", details: { name: "p" } },
    });
    expect(JSON.parse(JSON.stringify(new FerryError("internal", "oops", { cause: new Error("secret") })))).toEqual({
      error: { code: "internal", message: "oops" },
    });
  });

  it("keeps falsy details", () => {
    expect(new FerryError("conflict", "m", { details: null }).toJSON()).toEqual({ error: { code: "conflict", message: "m", details: null } });
    expect(new FerryError("conflict", "m", { details: 0 }).toJSON().error.details).toBe(0);
  });
});

describe("isErrorCode", () => {
  it("accepts the table's codes and nothing else", () => {
    for (const code of Object.keys(EXPECTED)) expect(isErrorCode(code)).toBe(true);
    for (const value of ["NOT_FOUND", "toString", "__proto__", "", null, 404]) expect(isErrorCode(value)).toBe(false);
  });
});

describe("isFerryError", () => {
  it("tells FerryErrors apart, optionally by code", () => {
    const error = new FerryError("not_found", "m");
    expect(isFerryError(error)).toBe(true);
    expect(isFerryError(error, "not_found")).toBe(true);
    expect(isFerryError(error, "conflict")).toBe(false);
    expect(isFerryError(new Error("m"))).toBe(false);
    expect(isFerryError({ code: "not_found", message: "m" })).toBe(false);
    expect(isFerryError(undefined)).toBe(false);
  });
});

describe("validationError", () => {
  it("is a bare message without issues", () => {
    const error = validationError("name is required");
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe("name is required");
    expect(error.details).toBeUndefined();
    expect(error.toJSON()).toEqual({ error: { code: "validation_failed", message: "name is required" } });
  });

  it("lists each issue with its path and keeps them as details", () => {
    const issues = [
      { path: "/cpu", message: "must be integer" },
      { path: "", message: "must have required property 'cluster'" },
    ];
    const error = validationError("job variables are invalid", issues);
    expect(error.message).toBe("job variables are invalid: /cpu must be integer; must have required property 'cluster'");
    expect(error.details).toEqual({ issues });
  });
});

describe("notFound", () => {
  it("names the kind and the reference", () => {
    const error = notFound("work pool", "my-pool");
    expect(error.code).toBe("not_found");
    expect(error.status).toBe(404);
    expect(error.message).toBe("work pool 'my-pool' was not found");
  });

  it("adds a hint", () => {
    expect(notFound("deployment", "etl/nightly", "list them with 'ferry deployment ls'").message).toBe(
      "deployment 'etl/nightly' was not found; list them with 'ferry deployment ls'",
    );
  });
});

// The GitHub Action and the VS Code extension bundle their own copy of core, and a provider package may
// resolve another; an error must be recognised whichever copy made it.
describe("FerryError across copies of core", () => {
  /** What another copy's FerryError looks like from here: another class, the same brand. */
  class OtherCopyFerryError extends Error {
    readonly [FERRY_ERROR_BRAND] = true;
    constructor(readonly code: string, message: string, readonly retryable = false) {
      super(message);
    }
  }

  it("recognises another copy's error by its brand, not by instanceof", () => {
    const error = new OtherCopyFerryError("provider_throttled", "slow down", true);
    expect(error instanceof FerryError).toBe(false);
    expect(isFerryError(error)).toBe(true);
    expect(isFerryError(error, "provider_throttled")).toBe(true);
    expect(isFerryError(error, "not_found")).toBe(false);
    expect(FERRY_ERROR_BRAND).toBe(Symbol.for("ferry.error"));
  });

  it("refuses a branded object whose code is not one of Ferry's", () => {
    expect(isFerryError(new OtherCopyFerryError("teapot", "m"))).toBe(false);
    expect(isFerryError({ [Symbol.for("ferry.error")]: false, code: "not_found" })).toBe(false);
  });

  it("toFerryError keeps a FerryError and wraps anything else with its cause", () => {
    const own = new FerryError("conflict", "c");
    expect(toFerryError(own)).toBe(own);
    const cause = new TypeError("boom");
    const wrapped = toFerryError(cause, "provider_error", { retryable: false });
    expect(wrapped).toMatchObject({ code: "provider_error", message: "boom", retryable: false, cause });
    expect(toFerryError("text").message).toBe("text");
  });
});
