import { describe, expect, it } from "vitest";
import { FerryError } from "@ferry/core";
import { withRetry } from "./api.js";

describe("withRetry", () => {
  const noSleep = { sleep: async () => undefined };

  it("tries again after failures the server says are worth retrying", async () => {
    let calls = 0;
    const delays: number[] = [];
    const value = await withRetry(
      async () => {
        if (++calls < 3) throw new FerryError("network", "could not reach the Ferry server");
        return "ok";
      },
      { sleep: async (ms) => void delays.push(ms), baseDelayMs: 100 },
    );
    expect(value).toBe("ok");
    expect(delays).toEqual([100, 200]);
  });

  it("gives up after the last attempt with the last error", async () => {
    let calls = 0;
    const failing = withRetry(async () => {
      calls++;
      throw new FerryError("unavailable", "busy");
    }, { ...noSleep, attempts: 4 });
    await expect(failing).rejects.toThrow("busy");
    expect(calls).toBe(4);
  });

  it("does not retry what retrying cannot fix", async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new FerryError("invalid_transition", "already COMPLETED");
      }, noSleep),
    ).rejects.toMatchObject({ code: "invalid_transition" });
    await expect(withRetry(async () => { calls++; throw new Error("a bug"); }, noSleep)).rejects.toThrow("a bug");
    expect(calls).toBe(2);
  });
});
