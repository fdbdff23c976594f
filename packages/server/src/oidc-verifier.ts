import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";

/** Signatures accepted on ID tokens: what GitHub Actions (RS256) and common issuers use. Never `none`, never HMAC. */
export const OIDC_ALGORITHMS = ["RS256", "ES256"];

export interface OidcVerifierOptions {
  /** http issuers and key URLs allowed (FERRY_OIDC_ALLOW_HTTP_ISSUERS: local tests only). */
  allowHttpIssuers: boolean;
  /** How long one fetch of the discovery document or the keys may take. */
  timeoutMs?: number;
  /** Seconds of clock skew allowed on exp, nbf and iat. */
  clockToleranceSeconds?: number;
  /** After a fetch of an issuer's keys, how long before another may be made for an unknown key id. */
  keysCooldownMs?: number;
  now?: () => Date;
}

/** Why a token was refused: for the server's log only, never the caller's answer. */
export class OidcVerificationError extends Error {
  override readonly name = "OidcVerificationError";
}

/** How long a discovery document is trusted before it is read again. */
const DISCOVERY_TTL_MS = 60 * 60 * 1000;

/**
 * Verifies ID tokens against their issuer's published keys: the discovery document
 * (`/.well-known/openid-configuration`) names `jwks_uri`; jose's remote key set caches the keys and
 * fetches them again when a token names a key id it does not know (a rotation), at most once per cooldown.
 */
export class OidcVerifier {
  private readonly issuers = new Map<string, { keys: JWTVerifyGetKey; expires: number }>();
  private readonly timeoutMs: number;
  private readonly clockTolerance: number;
  private readonly now: () => Date;

  constructor(readonly options: OidcVerifierOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.clockTolerance = options.clockToleranceSeconds ?? 30;
    this.now = options.now ?? (() => new Date());
  }

  get allowHttpIssuers(): boolean {
    return this.options.allowHttpIssuers;
  }

  /** The token's verified claims: signed by the issuer's key, for one of `audiences`, within its lifetime. */
  async verify(token: string, issuer: string, audiences: string[]): Promise<JWTPayload> {
    const keys = await this.keysOf(issuer);
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer,
        audience: audiences,
        algorithms: OIDC_ALGORITHMS,
        clockTolerance: this.clockTolerance,
        requiredClaims: ["exp", "iat", "sub"],
        // A CI job's token is minted for the job: one older than this is not a job's fresh token.
        maxTokenAge: "1h",
        currentDate: this.now(),
      });
      return payload;
    } catch (error) {
      throw new OidcVerificationError(`${(error as { code?: string }).code ?? "error"}: ${(error as Error).message}`, { cause: error });
    }
  }

  private async keysOf(issuer: string): Promise<JWTVerifyGetKey> {
    const cached = this.issuers.get(issuer);
    const now = Date.now();
    if (cached && cached.expires > now) return cached.keys;
    const jwksUri = await this.discover(issuer);
    const keys = createRemoteJWKSet(jwksUri, { timeoutDuration: this.timeoutMs, cooldownDuration: this.options.keysCooldownMs ?? 30_000, cacheMaxAge: 10 * 60_000 });
    if (this.issuers.size > 1000) this.issuers.clear();
    this.issuers.set(issuer, { keys, expires: now + DISCOVERY_TTL_MS });
    return keys;
  }

  private async discover(issuer: string): Promise<URL> {
    const base = this.allowedUrl(issuer, "issuer");
    const url = new URL(`${base.href.replace(/\/+$/, "")}/.well-known/openid-configuration`);
    let body: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), redirect: "error", headers: { accept: "application/json" } });
      if (!response.ok) throw new OidcVerificationError(`discovery document ${url.href} answered ${response.status}`);
      body = (await response.json()) as typeof body;
    } catch (error) {
      if (error instanceof OidcVerificationError) throw error;
      throw new OidcVerificationError(`could not read the discovery document ${url.href}: ${(error as Error).message}`, { cause: error });
    }
    // The issuer's own document must name itself: a document served for another issuer is not its keys.
    if (body.issuer !== issuer) throw new OidcVerificationError(`discovery document of ${issuer} names issuer ${String(body.issuer)}`);
    if (typeof body.jwks_uri !== "string") throw new OidcVerificationError(`discovery document of ${issuer} has no jwks_uri`);
    return this.allowedUrl(body.jwks_uri, "jwks_uri");
  }

  private allowedUrl(text: string, what: string): URL {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new OidcVerificationError(`${what} '${text}' is not a URL`);
    }
    if (url.protocol === "https:" || (url.protocol === "http:" && this.options.allowHttpIssuers)) return url;
    throw new OidcVerificationError(`${what} '${text}' is not https (FERRY_OIDC_ALLOW_HTTP_ISSUERS is off)`);
  }
}
