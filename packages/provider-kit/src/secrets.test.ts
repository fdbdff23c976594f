import { FerryError, secretField, plainField, SECRET_MASK, type CredentialType } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { containsSecret, redact, secretValues, withoutSecrets } from "./secrets.js";

const KEYPAIR: CredentialType = {
  type: "keypair",
  description: "a key pair",
  schema: { type: "object", properties: { key_id: plainField("id"), key_secret: secretField("secret"), region: plainField("region") } },
};
const credentials = { key_id: "K1", key_secret: "s3cr3t-value", region: "north-1" };

describe("secretValues", () => {
  it("takes the fields the type marks secret, or every value without a type", () => {
    expect(secretValues(KEYPAIR, credentials)).toEqual(["s3cr3t-value"]);
    expect(secretValues(null, credentials)).toEqual(["K1", "s3cr3t-value", "north-1"]);
    expect(secretValues(KEYPAIR, null)).toEqual([]);
  });
});

describe("redact", () => {
  it("masks every occurrence, the longest secret first", () => {
    expect(redact("a s3cr3t-value b s3cr3t", ["s3cr3t", "s3cr3t-value"])).toBe(`a ${SECRET_MASK} b ${SECRET_MASK}`);
  });
});

describe("withoutSecrets", () => {
  it("returns the very error when it holds no secret", () => {
    const error = new FerryError("provider_error", "clean");
    expect(withoutSecrets(error, ["s3cr3t-value"])).toBe(error);
  });

  it("masks the message, details and the whole cause chain, keeping code and retryability", () => {
    const root = Object.assign(new Error("signature s3cr3t-value refused"), { name: "BadSignature", code: "E_SIG" });
    const error = new FerryError("provider_auth", "refused with s3cr3t-value", {
      retryable: true,
      cause: new Error("middle", { cause: root }),
      details: { sent: { key_secret: "s3cr3t-value" } },
    });
    expect(containsSecret(error, ["s3cr3t-value"])).toBe(true);
    const clean = withoutSecrets(error, ["s3cr3t-value"]) as FerryError;
    expect(containsSecret(clean, ["s3cr3t-value"])).toBe(false);
    expect(clean).toMatchObject({ code: "provider_auth", retryable: true, message: `refused with ${SECRET_MASK}`, details: { sent: { key_secret: SECRET_MASK } } });
    const inner = (clean.cause as Error).cause as Error & { code?: string };
    expect(inner).toMatchObject({ name: "BadSignature", code: "E_SIG", message: `signature ${SECRET_MASK} refused` });
  });

  it("finds a secret in an error's own fields and in plain values", () => {
    expect(containsSecret(Object.assign(new Error("x"), { request: { body: "s3cr3t-value" } }), ["s3cr3t-value"])).toBe(true);
    expect(containsSecret([{ message: "ok" }], ["s3cr3t-value"])).toBe(false);
    expect(containsSecret("anything", [])).toBe(false);
  });
});
