import { validationError } from "./errors.js";

/** Opaque page cursors: base64url of JSON, so clients pass them back without reading them. */
export function encodeCursor(value: Record<string, string>): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export function decodeCursor<K extends string>(cursor: string, keys: readonly K[]): Record<K, string> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    value = null;
  }
  if (!value || typeof value !== "object" || !keys.every((k) => typeof (value as Record<string, unknown>)[k] === "string")) {
    throw validationError("cursor is not valid; pass the next_cursor of a previous page unchanged");
  }
  return value as Record<K, string>;
}
