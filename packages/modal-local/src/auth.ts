import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export interface ModalToken {
  tokenId: string;
  tokenSecret: string;
}

/** Why a call's credentials were refused, in the words Modal's API uses (status UNAUTHENTICATED). */
export type AuthFailure = { ok: false; message: string } | { ok: true; tokenId: string };

export const TOKEN_MISSING_MESSAGE = "Token missing. Could not authenticate client.";
export const TOKEN_ID_MALFORMED_MESSAGE = "Token ID is malformed";
/** What Modal answers for a token it does not know (never made, revoked); a wrong secret gets the same, so a token id is not confirmed. */
export const TOKEN_INVALID_MESSAGE = "Token not found";

/** The tokens a local server accepts; revoking one makes it answer as Modal does for a revoked token. */
export class TokenBook {
  private readonly tokens = new Map<string, { secret: string; revoked: boolean }>();

  add(token: ModalToken): void {
    this.tokens.set(token.tokenId, { secret: token.tokenSecret, revoked: false });
  }

  revoke(tokenId: string): boolean {
    const found = this.tokens.get(tokenId);
    if (found === undefined) return false;
    found.revoked = true;
    return true;
  }

  check(tokenId: string | undefined, tokenSecret: string | undefined): AuthFailure {
    if (!tokenId || !tokenSecret) return { ok: false, message: TOKEN_MISSING_MESSAGE };
    if (!/^ak-[0-9A-Za-z]+$/.test(tokenId)) return { ok: false, message: TOKEN_ID_MALFORMED_MESSAGE };
    const found = this.tokens.get(tokenId);
    if (found === undefined || found.revoked || !sameText(found.secret, tokenSecret)) return { ok: false, message: TOKEN_INVALID_MESSAGE };
    return { ok: true, tokenId };
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function base64url(value: Buffer | string): string {
  return Buffer.from(value).toString("base64url");
}

/**
 * Signs the short-lived JWTs the SDK is handed (the auth token of AuthTokenGet, the command router's
 * token): HS256 with a key made per server, with an `exp` the SDK reads to schedule its refresh.
 */
export class JwtSigner {
  private readonly key = randomBytes(32);

  constructor(private readonly now: () => Date) {}

  sign(claims: Record<string, string>, lifetimeSeconds: number): string {
    const exp = Math.floor(this.now().getTime() / 1000) + lifetimeSeconds;
    const head = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${base64url(JSON.stringify({ ...claims, exp }))}`;
    return `${head}.${base64url(createHmac("sha256", this.key).update(head).digest())}`;
  }

  /** The claims of a token this signer made and that has not expired, or null. */
  verify(token: string): Record<string, unknown> | null {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    const [header, payload, signature] = parts as [string, string, string];
    const expected = base64url(createHmac("sha256", this.key).update(`${header}.${payload}`).digest());
    if (!sameText(expected, signature)) return null;
    try {
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
      if (typeof claims.exp !== "number" || claims.exp * 1000 <= this.now().getTime()) return null;
      return claims;
    } catch {
      return null;
    }
  }
}
