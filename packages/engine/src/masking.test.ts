import { describe, expect, it } from "vitest";
import { MASK, redactUrl, SecretMasker } from "./masking.js";

describe("SecretMasker", () => {
  it("masks a secret wherever it appears in a line, as often as it appears", () => {
    const masker = new SecretMasker(["s3cr3t-token"]);
    expect(masker.mask("token=s3cr3t-token and again s3cr3t-token.")).toBe(`token=${MASK} and again ${MASK}.`);
  });

  it("masks the URL-encoded form and HTTP basic credentials made from it", () => {
    const masker = new SecretMasker();
    masker.add("p@ss/word+1", { username: "bot" });
    expect(masker.mask("https://bot:p%40ss%2Fword%2B1@host/repo")).toBe(`https://bot:${MASK}@host/repo`);
    const basic = Buffer.from("bot:p@ss/word+1").toString("base64");
    expect(masker.mask(`Authorization: Basic ${basic}`)).toBe(`Authorization: Basic ${MASK}`);
  });

  it("masks the JSON-escaped form a flow prints with json.dumps", () => {
    const masker = new SecretMasker(['pa"ss\\word']);
    expect(masker.mask(JSON.stringify({ password: 'pa"ss\\word' }))).toBe(`{"password":"${MASK}"}`);
  });

  it("replaces a longer secret whole when it contains a shorter one", () => {
    const masker = new SecretMasker(["abcd", "abcdefgh"]);
    expect(masker.mask("xx abcdefgh yy")).toBe(`xx ${MASK} yy`);
  });

  it("ignores empty and very short secrets, which would mask ordinary text", () => {
    const masker = new SecretMasker(["", null, undefined, "ab"]);
    expect(masker.mask("about a cab")).toBe("about a cab");
  });
});

describe("SecretMasker.cutPoint", () => {
  const masker = new SecretMasker(["0123456789"]);

  it("cuts at the maximum when no secret is near it", () => {
    expect(masker.cutPoint("x".repeat(100), 50)).toBe(50);
  });

  it("cuts before a secret that would straddle the cut", () => {
    const text = `${"x".repeat(45)}0123456789${"y".repeat(45)}`;
    expect(masker.cutPoint(text, 50)).toBe(45);
  });

  it("keeps back what may be the start of a secret that has not arrived in full", () => {
    // The longest form is the secret's base64 (14 characters): 13 may be its start.
    expect(masker.cutPoint("x".repeat(55), 50)).toBe(42);
    expect(new SecretMasker().cutPoint("x".repeat(55), 50)).toBe(50);
  });
});

describe("SecretMasker.maskValue", () => {
  const secret = "s3cr3t-value-99";
  const masker = new SecretMasker([secret]);

  it("masks every string of a return value, keys too, and keeps its shape", () => {
    const value = { token: secret, nested: [{ url: `https://x:${secret}@host` }, 3, null, true], [`key-${secret}`]: "k" };
    expect(masker.maskValue(value)).toEqual({ token: MASK, nested: [{ url: `https://x:${MASK}@host` }, 3, null, true], [`key-${MASK}`]: "k" });
    expect(masker.maskValue(`plain ${secret}`)).toBe(`plain ${MASK}`);
    expect(masker.maskValue(42)).toBe(42);
    expect(masker.maskValue(null)).toBe(null);
  });

  it("replaces the NUL characters PostgreSQL cannot store", () => {
    expect(masker.maskValue({ "a\u0000": ["b\u0000c"] })).toEqual({ "a\uFFFD": ["b\uFFFDc"] });
  });

  it("keeps a __proto__ key as data", () => {
    const value = JSON.parse('{"__proto__": {"x": "s3cr3t-value-99"}}') as unknown;
    const masked = masker.maskValue(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
    expect(JSON.stringify(masked)).toBe('{"__proto__":{"x":"***"}}');
  });

  it("masks the JSON text when the secret shows only there (a number)", () => {
    const numeric = new SecretMasker(["12345678"]);
    expect(numeric.maskValue({ pin: 12345678 })).toBe('{"pin":***}');
  });
});

describe("redactUrl", () => {
  it("masks a password written into a URL and leaves other URLs alone", () => {
    expect(redactUrl("https://user:hunter2@example.com/a.git")).toBe(`https://user:${MASK}@example.com/a.git`);
    expect(redactUrl("https://example.com/a.git")).toBe("https://example.com/a.git");
    expect(redactUrl("git@github.com:acme/flows.git")).toBe("git@github.com:acme/flows.git");
  });
});
