import { createSign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KeyRing, type ServiceAccountKeyFile } from "./keys.js";

function jwt(key: ServiceAccountKeyFile, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${part({ alg: "RS256", typ: "JWT", kid: key.private_key_id, ...header })}.${part(claims)}`;
  return `${unsigned}.${createSign("RSA-SHA256").update(unsigned).sign(key.private_key).toString("base64url")}`;
}

describe("KeyRing", () => {
  let now = 1_800_000_000_000;
  const ring = new KeyRing(() => now);
  const key = ring.create("sa@p.iam.gserviceaccount.com", "p", "http://127.0.0.1/token");
  const claims = () => ({ iss: key.client_email, sub: key.client_email, scope: "https://www.googleapis.com/auth/cloud-platform", iat: now / 1000, exp: now / 1000 + 3600 });

  it("makes key files Google's way and knows whose key each is", () => {
    expect(key).toMatchObject({ type: "service_account", project_id: "p", client_email: "sa@p.iam.gserviceaccount.com", token_uri: "http://127.0.0.1/token" });
    expect(key.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(ring.keysOf(key.client_email)).toEqual([key.private_key_id]);
  });

  it("accepts a self-signed JWT of a known key and names its account", () => {
    expect(ring.principalOf(`Bearer ${jwt(key, claims())}`)).toBe(key.client_email);
  });

  it("refuses a JWT that is expired, of another issuer, tampered with, or of an unknown key", () => {
    expect(() => ring.principalOf(`Bearer ${jwt(key, { ...claims(), exp: now / 1000 - 60 })}`)).toThrow(/short-lived/);
    expect(() => ring.principalOf(`Bearer ${jwt(key, { ...claims(), iss: "x@y" })}`)).toThrow(/is not the key's account/);
    const [header, , signature] = jwt(key, claims()).split(".");
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims(), iss: "other@p.iam.gserviceaccount.com" })).toString("base64url")}.${signature}`;
    expect(() => ring.principalOf(`Bearer ${forged}`)).toThrow("Invalid JWT Signature.");
    expect(() => ring.principalOf(`Bearer ${jwt(key, claims(), { kid: "unknown" })}`)).toThrow("Invalid JWT Signature.");
    expect(() => ring.principalOf(`Bearer ${jwt(key, claims(), { alg: "HS256" })}`)).toThrow(/not RS256/);
    expect(() => ring.principalOf(undefined)).toThrow(/missing required authentication credential/);
    expect(() => ring.principalOf("Bearer ya29.not-issued")).toThrow(/invalid authentication credentials/);
  });

  it("grants an hour's access token, refused once it expires or its key is deleted", () => {
    const granted = ring.grant(jwt(key, claims()));
    expect(granted).toMatchObject({ expires_in: 3600, token_type: "Bearer" });
    expect(ring.principalOf(`Bearer ${granted.access_token}`)).toBe(key.client_email);
    now += 3601_000;
    expect(() => ring.principalOf(`Bearer ${granted.access_token}`)).toThrow(/expired/);
    now -= 3601_000;
    const second = ring.grant(jwt(key, claims()));
    expect(ring.delete(key.private_key_id)).toBe(true);
    expect(() => ring.principalOf(`Bearer ${second.access_token}`)).toThrow(/invalid authentication credentials/);
    expect(() => ring.principalOf(`Bearer ${jwt(key, claims())}`)).toThrow("Invalid JWT Signature.");
  });
});
