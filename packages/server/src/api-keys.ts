import { createHash, randomBytes } from "node:crypto";

const PREFIX = "fy_";

/** A new API key: high-entropy, so a fast hash is enough to store it (no password stretching needed). */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = PREFIX + randomBytes(30).toString("base64url");
  return { key, prefix: key.slice(0, PREFIX.length + 6), hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(PREFIX) && value.length > PREFIX.length + 20;
}
