import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from "node:crypto";

/** A service-account key file as Google issues it (the JSON a `gcp` credentials block holds). */
export interface ServiceAccountKeyFile {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
  auth_provider_x509_cert_url: string;
  client_x509_cert_url: string;
  universe_domain: string;
}

interface KeyRecord {
  id: string;
  email: string;
  publicKey: KeyObject;
  validAfter: string;
  disabled: boolean;
}

/** Why a bearer token or an assertion was refused; the message is what Google answers. */
export class AuthRefusal extends Error {
  override readonly name = "AuthRefusal";
}

function base64urlJson(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  if (value === null || typeof value !== "object") throw new AuthRefusal("Invalid JWT: not a JSON object.");
  return value as Record<string, unknown>;
}

/**
 * The RSA keys the local project trusts, by key id (`private_key_id`, the JWT header's `kid`), and the
 * access tokens handed out for them. The private half of a key leaves only in the key file it was made for.
 */
export class KeyRing {
  private readonly keys = new Map<string, KeyRecord>();
  private readonly tokens = new Map<string, { email: string; keyId: string; expires: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Makes a real 2048-bit RSA key for the account and returns its key file. */
  create(email: string, projectId: string, tokenUri: string): ServiceAccountKeyFile {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const id = randomBytes(20).toString("hex");
    this.keys.set(id, { id, email, publicKey, validAfter: new Date(this.now()).toISOString(), disabled: false });
    return {
      type: "service_account",
      project_id: projectId,
      private_key_id: id,
      private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      client_email: email,
      client_id: String(BigInt(`0x${randomBytes(8).toString("hex")}`)),
      auth_uri: "https://accounts.google.com/o/oauth2/auth",
      token_uri: tokenUri,
      auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
      universe_domain: "googleapis.com",
    };
  }

  /** Trusts the public half of an existing key (a key file given to the server). */
  trust(keyFile: Pick<ServiceAccountKeyFile, "private_key_id" | "private_key" | "client_email">): void {
    this.keys.set(keyFile.private_key_id, { id: keyFile.private_key_id, email: keyFile.client_email, publicKey: createPublicKey(keyFile.private_key), validAfter: new Date(this.now()).toISOString(), disabled: false });
  }

  get(id: string): { id: string; email: string; validAfter: string; publicKeyPem: string } | null {
    const key = this.keys.get(id);
    if (key === undefined) return null;
    return { id, email: key.email, validAfter: key.validAfter, publicKeyPem: key.publicKey.export({ type: "spki", format: "pem" }).toString() };
  }

  keysOf(email: string): string[] {
    return [...this.keys.values()].filter((key) => key.email === email).map((key) => key.id);
  }

  /** Forgets a key: JWTs it signed and tokens it obtained are refused from now on. */
  delete(id: string): boolean {
    for (const [token, grant] of this.tokens) if (grant.keyId === id) this.tokens.delete(token);
    return this.keys.delete(id);
  }

  /** Checks a JWT's RS256 signature against a trusted key and its times; returns the account and the claims. */
  verifyJwt(jwt: string): { email: string; keyId: string; claims: Record<string, unknown> } {
    const parts = jwt.split(".");
    if (parts.length !== 3) throw new AuthRefusal("Invalid JWT: expected three dot-separated parts.");
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    const header = base64urlJson(headerPart);
    const claims = base64urlJson(payloadPart);
    if (header.alg !== "RS256") throw new AuthRefusal(`Invalid JWT: algorithm ${String(header.alg)} is not RS256.`);
    const keyId = typeof header.kid === "string" ? header.kid : "";
    const key = this.keys.get(keyId);
    if (key === undefined) throw new AuthRefusal("Invalid JWT Signature.");
    const signed = verify("RSA-SHA256", Buffer.from(`${headerPart}.${payloadPart}`), key.publicKey, Buffer.from(signaturePart, "base64url"));
    if (!signed) throw new AuthRefusal("Invalid JWT Signature.");
    if (claims.iss !== key.email) throw new AuthRefusal(`Invalid JWT: iss ${String(claims.iss)} is not the key's account ${key.email}.`);
    const nowSeconds = this.now() / 1000;
    if (typeof claims.exp !== "number" || claims.exp < nowSeconds - 30) throw new AuthRefusal("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.");
    if (typeof claims.iat === "number" && claims.iat > nowSeconds + 300) throw new AuthRefusal("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.");
    return { email: key.email, keyId, claims };
  }

  /** The OAuth 2.0 JWT-bearer grant: an assertion signed by a trusted key buys an hour's access token. */
  grant(assertion: string): { access_token: string; expires_in: number; token_type: "Bearer" } {
    const { email, keyId } = this.verifyJwt(assertion);
    const token = `ya29.local-${randomBytes(24).toString("base64url")}`;
    this.tokens.set(token, { email, keyId, expires: this.now() + 3600_000 });
    return { access_token: token, expires_in: 3600, token_type: "Bearer" };
  }

  /**
   * The account behind an `Authorization: Bearer` value: an access token from `grant`, or a self-signed
   * JWT (what the official clients send for service-account keys: `useJWTAccessWithScope`).
   */
  principalOf(authorization: string | undefined): string {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (match === null) throw new AuthRefusal("Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
    const bearer = match[1]!;
    const grant = this.tokens.get(bearer);
    if (grant !== undefined) {
      if (grant.expires < this.now()) throw new AuthRefusal("Request had invalid authentication credentials. The access token expired.");
      return grant.email;
    }
    if (bearer.split(".").length === 3) return this.verifyJwt(bearer).email;
    throw new AuthRefusal("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
  }
}
