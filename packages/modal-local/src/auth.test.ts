import { describe, expect, it } from "vitest";
import { JwtSigner, TOKEN_ID_MALFORMED_MESSAGE, TOKEN_INVALID_MESSAGE, TOKEN_MISSING_MESSAGE, TokenBook } from "./auth.js";

describe("TokenBook", () => {
  const token = { tokenId: "ak-abc123", tokenSecret: "as-def456" };

  it("accepts a known token and refuses the rest with Modal's words", () => {
    const book = new TokenBook();
    book.add(token);
    expect(book.check(token.tokenId, token.tokenSecret)).toEqual({ ok: true, tokenId: token.tokenId });
    expect(book.check(undefined, undefined)).toEqual({ ok: false, message: TOKEN_MISSING_MESSAGE });
    expect(book.check("abc", "as-def456")).toEqual({ ok: false, message: TOKEN_ID_MALFORMED_MESSAGE });
    expect(book.check("ak-other", "as-def456")).toEqual({ ok: false, message: TOKEN_INVALID_MESSAGE });
    expect(book.check(token.tokenId, "as-wrong")).toEqual({ ok: false, message: TOKEN_INVALID_MESSAGE });
  });

  it("refuses a revoked token", () => {
    const book = new TokenBook();
    book.add(token);
    expect(book.revoke(token.tokenId)).toBe(true);
    expect(book.check(token.tokenId, token.tokenSecret)).toEqual({ ok: false, message: TOKEN_INVALID_MESSAGE });
    expect(book.revoke("ak-unknown")).toBe(false);
  });
});

describe("JwtSigner", () => {
  it("signs tokens with an exp the SDK can read, and verifies only its own unexpired ones", () => {
    let now = new Date("2026-12-04T12:00:00Z");
    const signer = new JwtSigner(() => now);
    const jwt = signer.sign({ task_id: "ta-1" }, 60);
    const payload = JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as { exp: number; task_id: string };
    expect(payload).toEqual({ task_id: "ta-1", exp: Math.floor(now.getTime() / 1000) + 60 });
    expect(signer.verify(jwt)).toMatchObject({ task_id: "ta-1" });
    expect(new JwtSigner(() => now).verify(jwt)).toBeNull();
    expect(signer.verify(`${jwt}x`)).toBeNull();
    expect(signer.verify("not.a.jwt")).toBeNull();
    now = new Date(now.getTime() + 61_000);
    expect(signer.verify(jwt)).toBeNull();
  });
});
