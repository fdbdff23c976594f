import { describe, expect, it } from "vitest";
import { TokenIssuer } from "./tokens.js";

describe("TokenIssuer", () => {
  const claims = { oid: "sp-1", appid: "app-1", tid: "t", aud: "https://management.azure.com" };

  it("verifies its own tokens and reads their claims", () => {
    const issuer = new TokenIssuer("https://local/t/v2.0");
    const { token, expiresIn } = issuer.issue(claims);
    expect(expiresIn).toBe(3600);
    expect(issuer.verify(token)).toMatchObject(claims);
  });

  it("refuses a token from another issuer, a tampered one and an expired one", () => {
    let now = 1_000_000_000_000;
    const issuer = new TokenIssuer("https://local/t/v2.0", 60, () => now);
    const { token } = issuer.issue(claims);
    expect(new TokenIssuer("https://local/t/v2.0").verify(token)).toBeNull();
    const [header, , signature] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ ...claims, oid: "someone-else", exp: 9e12 })).toString("base64url");
    expect(issuer.verify(`${header}.${forged}.${signature}`)).toBeNull();
    expect(issuer.verify("not-a-token")).toBeNull();
    now += 61_000;
    expect(issuer.verify(token)).toBeNull();
  });
});
