import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** What an access token says: who (the service principal's object id and its app id), for which audience. */
export interface TokenClaims {
  /** The service principal's object id. */
  oid: string;
  /** The application (client) id. */
  appid: string;
  tid: string;
  aud: string;
  iat: number;
  exp: number;
}

const base64url = (value: Buffer | string): string => Buffer.from(value).toString("base64url");

/** Signs and checks the JWTs the token endpoint hands out (HS256 with a key made at start). */
export class TokenIssuer {
  private readonly key = randomBytes(32);

  constructor(
    private readonly issuer: string,
    private readonly lifetimeSeconds = 3600,
    private readonly now: () => number = Date.now,
  ) {}

  issue(claims: Omit<TokenClaims, "iat" | "exp">): { token: string; expiresIn: number } {
    const iat = Math.floor(this.now() / 1000);
    const payload = { ...claims, iss: this.issuer, iat, nbf: iat, exp: iat + this.lifetimeSeconds };
    const unsigned = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${base64url(JSON.stringify(payload))}`;
    return { token: `${unsigned}.${this.sign(unsigned)}`, expiresIn: this.lifetimeSeconds };
  }

  /** The claims of a token this issuer made and that has not expired, or null. */
  verify(token: string): TokenClaims | null {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    const expected = Buffer.from(this.sign(`${parts[0]}.${parts[1]}`));
    const given = Buffer.from(parts[2]!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    try {
      const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as TokenClaims;
      return claims.exp * 1000 > this.now() ? claims : null;
    } catch {
      return null;
    }
  }

  private sign(unsigned: string): string {
    return createHmac("sha256", this.key).update(unsigned).digest("base64url");
  }
}
