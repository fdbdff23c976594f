import { createHash, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { FerryError } from "@ferry/core";
import { safeEqual } from "./secrets.js";

const PREFIX = "frt_";

export interface RunTokenClaims {
  flowRunId: string;
  workspaceId: string;
  /** Seconds since the epoch after which the token is refused. */
  expires: number;
}

/**
 * Tokens handed to a managed run's engine instead of a workspace API key. Stateless: the claims are
 * signed with a key derived from the server's secret key, so every server process sharing that key
 * accepts them and nothing is stored. What a token may do is decided by the route table (`runToken`)
 * and by the handlers, which only serve the token's own run.
 */
export class RunTokens {
  private readonly key: Buffer;

  constructor(secretKey: Buffer) {
    this.key = Buffer.from(hkdfSync("sha256", secretKey, Buffer.alloc(0), "ferry run tokens v1", 32));
  }

  issue(claims: RunTokenClaims): string {
    const payload = Buffer.from(JSON.stringify({ r: claims.flowRunId, w: claims.workspaceId, e: claims.expires })).toString("base64url");
    return `${PREFIX}${payload}.${this.sign(payload)}`;
  }

  static looksLikeRunToken(token: string): boolean {
    return token.startsWith(PREFIX);
  }

  /** The claims of a valid, unexpired token; throws `unauthenticated` with the reason otherwise. */
  verify(token: string, nowSeconds: number): RunTokenClaims {
    const body = token.slice(PREFIX.length);
    const dot = body.lastIndexOf(".");
    const payload = body.slice(0, dot);
    if (dot <= 0 || !safeEqual(body.slice(dot + 1), this.sign(payload))) {
      throw new FerryError("unauthenticated", "the run token is not valid");
    }
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { r: string; w: string; e: number };
    if (claims.e < nowSeconds) {
      throw new FerryError("unauthenticated", "the run token has expired: the run outlived its maximum runtime");
    }
    return { flowRunId: claims.r, workspaceId: claims.w, expires: claims.e };
  }

  private sign(payload: string): string {
    return createHmac("sha256", this.key).update(payload).digest("base64url");
  }
}

const BOOTSTRAP_PREFIX = "frb_";

/**
 * A run's bootstrap token: what its infrastructure is given instead of the run token. Random, stored
 * only as a hash, and good for one exchange within minutes (see services/run-credentials.ts).
 */
export function generateBootstrapToken(): { token: string; hash: string } {
  const token = BOOTSTRAP_PREFIX + randomBytes(32).toString("base64url");
  return { token, hash: hashBootstrapToken(token) };
}

export function hashBootstrapToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function looksLikeBootstrapToken(token: string): boolean {
  return token.startsWith(BOOTSTRAP_PREFIX);
}
