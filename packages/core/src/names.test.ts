import { describe, expect, it } from "vitest";
import { FerryError } from "./errors.js";
import { assertSlug, isSlug, toSlug } from "./names.js";

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe("validation_failed");
    return (error as FerryError).message;
  }
  throw new Error("expected a validation error");
}

const RULE = "use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit";

describe("isSlug", () => {
  it.each(["a", "0", "my-pool", "acme-prod-2", "a".repeat(63), "a--b"])("accepts %s", (value) => {
    expect(isSlug(value)).toBe(true);
  });

  it.each(["", "-a", "a-", "My-Pool", "my_pool", "my pool", "pool.1", "ünïcode", "a".repeat(64), "a\n"])("refuses %j", (value) => {
    expect(isSlug(value)).toBe(false);
  });
});

describe("toSlug", () => {
  it.each([
    ["My Pool", "my-pool"],
    ["  ACME / Prod__2 ", "acme-prod-2"],
    ["a--b", "a-b"],
    ["---", ""],
    ["Déjà vu", "d-j-vu"],
    ["already-ok", "already-ok"],
  ])("turns %j into %j", (value, slug) => {
    expect(toSlug(value)).toBe(slug);
  });

  it("cuts to 63 characters without leaving a dash at the end", () => {
    const slug = toSlug(`${"a".repeat(62)} b`);
    expect(slug).toBe("a".repeat(62));
    expect(isSlug(slug)).toBe(true);
    expect(toSlug("x".repeat(100))).toBe("x".repeat(63));
  });

  it("always gives a slug or nothing", () => {
    for (const value of ["Hello, World!", "__init__", "Ωmega 9", "-x-", `${"ab-".repeat(30)}`]) {
      const slug = toSlug(value);
      expect(slug === "" || isSlug(slug)).toBe(true);
    }
  });
});

describe("assertSlug", () => {
  it("returns a valid name", () => {
    expect(assertSlug("work pool", "my-pool")).toBe("my-pool");
  });

  it.each([undefined, null, "", 7])("requires a name (%j)", (value) => {
    expect(messageOf(() => assertSlug("work pool", value))).toBe("work pool name is required");
  });

  it("suggests a corrected name", () => {
    expect(messageOf(() => assertSlug("work pool", "My Pool"))).toBe(`work pool name 'My Pool' is not valid: ${RULE} (for example 'my-pool')`);
  });

  it("makes no suggestion when none can be made", () => {
    expect(messageOf(() => assertSlug("credentials", "___"))).toBe(`credentials name '___' is not valid: ${RULE}`);
  });

  it("refuses a name that is too long, suggesting a shorter one", () => {
    const name = "a".repeat(64);
    expect(messageOf(() => assertSlug("deployment", name))).toBe(`deployment name '${name}' is not valid: ${RULE} (for example '${"a".repeat(63)}')`);
  });
});
