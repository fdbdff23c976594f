import { afterEach, describe, expect, it, vi } from "vitest";
import { JobSweeper } from "./job-sweeper.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("JobSweeper", () => {
  it("checks each tracked run every interval until it ended, then stops its timer", async () => {
    vi.useFakeTimers();
    const ended = new Set<string>();
    const checked: string[] = [];
    const sweeper = new JobSweeper<string>({
      intervalMs: 1000,
      maxAgeMs: () => 60_000,
      check: async (run) => {
        checked.push(run);
        return ended.has(run);
      },
    });
    sweeper.track("a", "a");
    sweeper.track("b", "b");
    await vi.advanceTimersByTimeAsync(1000);
    expect(checked).toEqual(["a", "b"]);
    ended.add("a");
    await vi.advanceTimersByTimeAsync(1000);
    expect(sweeper.size).toBe(1);
    ended.add("b");
    await vi.advanceTimersByTimeAsync(1000);
    expect(sweeper.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("keeps a run whose check failed, and lets go of one older than its maximum age", async () => {
    let now = 0;
    let fail = true;
    const sweeper = new JobSweeper<string>({
      intervalMs: 1_000_000,
      maxAgeMs: (run) => (run === "short" ? 10 : 1000),
      now: () => now,
      check: async () => {
        if (fail) throw new Error("unavailable");
        return false;
      },
    });
    sweeper.track("short", "short");
    sweeper.track("long", "long");
    await sweeper.sweep();
    expect(sweeper.size).toBe(2);
    now = 100;
    fail = false;
    await sweeper.sweep();
    expect(sweeper.size).toBe(1);
    sweeper.stop();
  });
});
