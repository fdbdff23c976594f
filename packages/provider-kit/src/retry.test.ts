import { FerryError, isFerryError } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { backoffDelay, withRetries } from "./retry.js";

const throttled = () => new FerryError("provider_throttled", "slow down");
const refused = () => new FerryError("provider_error", "bad request", { retryable: false });

/** A sleep that records the backoffs and returns at once. */
function clock() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe("withRetries", () => {
  it("retries retryable failures with growing, jittered backoffs, then succeeds", async () => {
    const { waits, sleep } = clock();
    let calls = 0;
    const result = await withRetries(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw throttled();
        return "ok";
      },
      { attempts: 3, baseDelayMs: 100, random: () => 0.5, sleep },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(3);
    expect(waits).toEqual([50, 100]);
  });

  it("gives up after the last attempt with the last error", async () => {
    const { sleep } = clock();
    let calls = 0;
    const error = await withRetries(
      async () => {
        calls++;
        throw new FerryError("provider_throttled", `attempt ${calls}`);
      },
      { attempts: 4, sleep },
    ).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect((error as Error).message).toBe("attempt 4");
  });

  it("does not retry what is not retryable", async () => {
    const { waits, sleep } = clock();
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          throw refused();
        },
        { sleep },
      ),
    ).rejects.toThrow("bad request");
    expect(calls).toBe(1);
    expect(waits).toEqual([]);
  });

  it("classifies what the call throws", async () => {
    const error = await withRetries(
      async () => {
        throw Object.assign(new Error("HTTP 500"), { status: 500 });
      },
      { attempts: 2, sleep: async () => {}, classify: (e) => new FerryError("provider_error", `classified: ${(e as Error).message}`, { retryable: false }) },
    ).catch((e: unknown) => e);
    expect(isFerryError(error)).toBe(true);
    expect((error as Error).message).toBe("classified: HTTP 500");
  });

  it("stops when the signal aborts during a backoff, with the signal's reason", async () => {
    const controller = new AbortController();
    let calls = 0;
    const promise = withRetries(
      async () => {
        calls++;
        throw throttled();
      },
      { attempts: 5, signal: controller.signal, sleep: (_ms, signal) => new Promise((_resolve, reject) => signal?.addEventListener("abort", () => reject(signal.reason))) },
    );
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error("shutting down"));
    await expect(promise).rejects.toThrow("shutting down");
    expect(calls).toBe(1);
  });

  it("does not start when the signal is aborted already", async () => {
    let calls = 0;
    await expect(withRetries(async () => void calls++, { signal: AbortSignal.abort(new Error("gone")) })).rejects.toThrow("gone");
    expect(calls).toBe(0);
  });
});

describe("backoffDelay", () => {
  it("is full jitter under an exponential ceiling bounded by the maximum", () => {
    expect(backoffDelay(1, { baseDelayMs: 100, random: () => 0.999 })).toBe(99);
    expect(backoffDelay(3, { baseDelayMs: 100, random: () => 0.5 })).toBe(200);
    expect(backoffDelay(20, { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.5 })).toBe(500);
    expect(backoffDelay(2, { random: () => 0 })).toBe(0);
    // A base above the default bound is not cut down to it.
    expect(backoffDelay(1, { baseDelayMs: 60_000, random: () => 0.5 })).toBe(30_000);
    expect(backoffDelay(7, { random: () => 0.5 })).toBe(2_500);
  });
});
