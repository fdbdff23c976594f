import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { FerryError } from "@ferry/core";
import { parseSecretKey } from "./config.js";

const VERSION = "v1";

/**
 * AES-256-GCM for credentials at rest. The ciphertext carries a version, the nonce and the tag, so the
 * format can change without guessing. The workspace and credentials name are bound as associated data:
 * a ciphertext copied into another workspace's row does not decrypt.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new FerryError("internal", "the secret key must be 32 bytes");
  }

  encrypt(plaintext: string, associatedData: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, iv.toString("base64"), cipher.getAuthTag().toString("base64"), body.toString("base64")].join(".");
  }

  decrypt(ciphertext: string, associatedData: string): string {
    const [version, iv, tag, body] = ciphertext.split(".");
    if (version !== VERSION || !iv || !tag || body === undefined) {
      throw new FerryError("internal", "stored credentials are in an unknown format");
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64"));
      decipher.setAAD(Buffer.from(associatedData));
      decipher.setAuthTag(Buffer.from(tag, "base64"));
      return Buffer.concat([decipher.update(Buffer.from(body, "base64")), decipher.final()]).toString("utf8");
    } catch (error) {
      throw new FerryError(
        "internal",
        "stored credentials cannot be decrypted: the server's secret key (FERRY_SECRET_KEY or FERRY_HOME/secret.key) is not the one they were written with",
        { cause: error },
      );
    }
  }
}

/**
 * Reads a secret file, or makes it with `make()` on first use, readable by the owner only (0600).
 * A file others can read is refused: a secret that leaked must be replaced, not silently used.
 */
export function readOrCreateSecretFile(path: string, make: () => string): string {
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) {
      throw new FerryError("forbidden", `${path} can be read by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
    }
    return readFileSync(path, "utf8").trim();
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const value = make();
  writeFileSync(path, `${value}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return value;
}

export function loadSecretKey(configured: Buffer | null, path: string): Buffer {
  if (configured) return configured;
  const text = readOrCreateSecretFile(path, () => randomBytes(32).toString("base64"));
  const key = parseSecretKey(text);
  if (!key) throw new FerryError("validation_failed", `${path} does not hold a 32-byte key; restore it from a backup or set FERRY_SECRET_KEY`);
  return key;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
