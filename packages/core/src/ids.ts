import { v7 as uuidv7 } from "uuid";

/** Time-ordered ids (UUIDv7): new rows land at the end of the index, and ids sort by creation. */
export function newId(): string {
  return uuidv7();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a value can be an id at all: anything else is answered "not found" without a query. */
export function isUuid(value: unknown): boolean {
  return typeof value === "string" && UUID.test(value);
}
