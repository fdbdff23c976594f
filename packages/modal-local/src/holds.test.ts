import { describe, expect, it } from "vitest";
import { HoldBook } from "./holds.js";

describe("HoldBook", () => {
  it("holds the next call of its RPC only, until released", async () => {
    const book = new HoldBook();
    const held = book.holdNext("SandboxCreateV2");
    expect(book.take("SandboxWaitV2")).toBeNull();
    const waiting = book.take("SandboxCreateV2");
    expect(waiting).not.toBeNull();
    await held.reached;
    let released = false;
    void waiting!.then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    held.release();
    await waiting;
    expect(released).toBe(true);
    expect(book.take("SandboxCreateV2")).toBeNull();
  });
});
