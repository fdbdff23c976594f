import { describe, expect, it } from "vitest";
import { SEED_SPAN_MS, seedBatches, seedRun, seedState } from "./seed.js";

describe("the seeding plan", () => {
  it("makes most runs final and one in a hundred waiting, in the same mix over any hundred in a row", () => {
    const count = (from: number, n: number) => {
      const by: Record<string, number> = {};
      for (let i = from; i < from + n; i++) by[seedState(i)] = (by[seedState(i)] ?? 0) + 1;
      return by;
    };
    const mix = { SCHEDULED: 1, FAILED: 5, CANCELLED: 2, CRASHED: 1, COMPLETED: 91 };
    expect(count(0, 100)).toEqual(mix);
    expect(count(4321, 100)).toEqual(mix);
    expect(count(0, 100_000)).toEqual(Object.fromEntries(Object.entries(mix).map(([k, v]) => [k, v * 1000])));
  });

  it("gives a final run its whole path, a waiting one only SCHEDULED, and names the failure", () => {
    const now = Date.parse("2026-12-05T00:00:00Z");
    expect(seedRun(0, 10, now).states.map((s) => s.type)).toEqual(["SCHEDULED"]);
    const failed = seedRun(7, 10, now);
    expect(failed.states.map((s) => s.type)).toEqual(["SCHEDULED", "PENDING", "RUNNING", "FAILED"]);
    expect(failed.states.at(-1)!.message).toMatch(/ValueError/);
    expect(seedRun(1, 10, now).states.at(-1)).toMatchObject({ type: "COMPLETED", message: null });
  });

  it("spreads creation times evenly over the 30 days before now, oldest first", () => {
    const now = Date.parse("2026-12-05T00:00:00Z");
    const n = 1000;
    const times = Array.from({ length: n }, (_, i) => Date.parse(seedRun(i, n, now).createdAt));
    expect(times[0]).toBeGreaterThan(now - SEED_SPAN_MS - 60_000);
    expect(times.at(-1)).toBe(now - 60_000);
    for (let i = 1; i < n; i++) expect(times[i]).toBeGreaterThan(times[i - 1]!);
  });

  it("cuts the runs into batches that cover each index once", () => {
    expect(seedBatches(0)).toEqual([]);
    expect(seedBatches(5, 2)).toEqual([[0, 2], [2, 2], [4, 1]]);
    expect(seedBatches(100_000).length).toBe(50);
  });
});
