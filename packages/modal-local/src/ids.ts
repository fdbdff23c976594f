import { randomInt } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function suffix(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/**
 * Modal's object ids: a kind prefix and 22 letters and digits (`ap-…`, `im-…`, `st-…`, `ta-…`). The SDK
 * tells a V1 sandbox from a V2 one by the id's shape alone (`sb-` and exactly 22 characters is V1), so
 * V2 sandboxes get an id of another shape: `sb2-` and 22 characters.
 */
export function newId(kind: "ap" | "en" | "im" | "st" | "ta" | "sb" | "sb2" | "ak" | "as"): string {
  return `${kind}-${suffix(22)}`;
}

/** The SDK's own test for a V1 sandbox id (`sb-` and 22 letters and digits). */
export function isV1SandboxId(id: string): boolean {
  return /^sb-[0-9A-Za-z]{22}$/.test(id);
}
