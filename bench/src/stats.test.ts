import { describe, expect, it } from "vitest";
import { distribution, percentile, ratePerSecond } from "./stats.js";

describe("percentile", () => {
  it("is the nearest rank: a value that was observed", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 0)).toBe(1);
  });

  it("is NaN without observations, so an empty figure cannot pass for zero", () => {
    expect(percentile([], 50)).toBeNaN();
    expect(distribution([]).max).toBeNaN();
  });
});

describe("distribution", () => {
  it("sorts its input and reports the tail", () => {
    const d = distribution([5, 1, 4, 2, 3, 100, 6, 7, 8, 9]);
    expect(d).toMatchObject({ count: 10, p50: 5, p90: 9, p99: 100, max: 100 });
    expect(d.mean).toBeCloseTo(14.5);
  });
});

describe("ratePerSecond", () => {
  it("counts events over the window from the start to the last event", () => {
    expect(ratePerSecond(1000, [1500, 2000, 1200, 1800])).toBe(4);
    expect(ratePerSecond(0, [])).toBe(0);
  });
});
