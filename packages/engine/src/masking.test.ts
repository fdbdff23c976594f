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

  it("replaces a longer secret whole when it contains a shorter one", () => {
    const masker = new SecretMasker(["abcd", "abcdefgh"]);
    expect(masker.mask("xx abcdefgh yy")).toBe(`xx ${MASK} yy`);
  });

  it("ignores empty and very short secrets, which would mask ordinary text", () => {
    const masker = new SecretMasker(["", null, undefined, "ab"]);
    expect(masker.mask("about a cab")).toBe("about a cab");
  });
});

describe("redactUrl", () => {
  it("masks a password written into a URL and leaves other URLs alone", () => {
    expect(redactUrl("https://user:hunter2@example.com/a.git")).toBe(`https://user:${MASK}@example.com/a.git`);
    expect(redactUrl("https://example.com/a.git")).toBe("https://example.com/a.git");
    expect(redactUrl("git@github.com:acme/flows.git")).toBe("git@github.com:acme/flows.git");
  });
});
