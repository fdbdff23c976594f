import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { FerryError } from "./errors.js";

const INVALID = "cursor is not valid; pass the next_cursor of a previous page unchanged";

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe("validation_failed");
    return (error as FerryError).message;
  }
  throw new Error("expected a validation error");
}

describe("cursors", () => {
  it("round-trips", () => {
    const value = { created_at: "2026-03-01T10:00:00.000Z", id: "0195-…/+=?&" };
    expect(decodeCursor(encodeCursor(value), ["created_at", "id"])).toEqual(value);
  });

  it("is URL-safe", () => {
    const cursor = encodeCursor({ k: "\u00ff\u00fe>>>???~~~" });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(encodeURIComponent(cursor)).toBe(cursor);
  });

  it("is base64url of JSON", () => {
    expect(encodeCursor({ id: "1" })).toBe(Buffer.from('{"id":"1"}').toString("base64url"));
  });

  it.each([
    ["garbage", "not base64 json at all!"],
    ["empty", ""],
    ["JSON null", Buffer.from("null").toString("base64url")],
    ["a JSON string", Buffer.from('"id"').toString("base64url")],
    ["a missing key", encodeCursor({ id: "1" })],
    ["a key that is not a string", Buffer.from('{"id":"1","created_at":5}').toString("base64url")],
  ])("refuses %s", (_what, cursor) => {
    expect(messageOf(() => decodeCursor(cursor, ["id", "created_at"]))).toBe(INVALID);
  });
});
