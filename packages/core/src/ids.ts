import { v7 as uuidv7 } from "uuid";

/** Time-ordered ids (UUIDv7): new rows land at the end of the index, and ids sort by creation. */
export function newId(): string {
  return uuidv7();
}
