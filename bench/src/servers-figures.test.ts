import { describe, expect, it } from "vitest";
import { mergeLoads, mergeSubmits, shareLoad } from "./servers-figures.js";

describe("multi-server bench figures", () => {
  it("shares calls and clients over the servers as evenly as whole numbers allow", () => {
    expect(shareLoad(1000, 8, 1)).toEqual([{ calls: 1000, clients: 8 }]);
    expect(shareLoad(1000, 8, 3)).toEqual([{ calls: 334, clients: 3 }, { calls: 333, clients: 3 }, { calls: 333, clients: 2 }]);
    expect(() => shareLoad(10, 2, 3)).toThrow(/at least one client per server/);
  });

  it("merges the servers' loads and submissions, counting a run submitted twice", () => {
    const a = { samples: [{ flowRunId: "r1", sentAt: 1, receivedAt: 2 }], errors: 1, errorMessages: ["x"] };
    const b = { samples: [{ flowRunId: "r2", sentAt: 3, receivedAt: 4 }], errors: 0, errorMessages: [] };
    expect(mergeLoads([a, b])).toEqual({ samples: [...a.samples, ...b.samples], errors: 1, errorMessages: ["x"] });
    const { submittedAt, doubled } = mergeSubmits([[["r1", 5]], [["r2", 6], ["r1", 7]]]);
    expect([...submittedAt]).toEqual([["r1", 5], ["r2", 6]]);
    expect(doubled).toBe(1);
  });
});
