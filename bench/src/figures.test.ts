import { describe, expect, it } from "vitest";
import { figures } from "./figures.js";

describe("figures", () => {
  it("joins client, provider and store times by run id", () => {
    const load = {
      samples: [
        { flowRunId: "a", sentAt: 1000, receivedAt: 1004 },
        { flowRunId: "b", sentAt: 1001, receivedAt: 1003 },
        { flowRunId: "c", sentAt: 1002, receivedAt: 1010 },
      ],
      errors: 1,
      errorMessages: ["boom"],
    };
    const submitted = new Map([["a", 1002], ["b", 1006]]);
    const completed = new Map([["a", 1500], ["b", 2000], ["c", 1100]]);
    const f = figures(load, submitted, completed);
    expect(f.createToSubmit).toMatchObject({ count: 2, p50: 2, max: 5 });
    expect(f.createCall).toMatchObject({ count: 3, p50: 4, max: 8 });
    expect(f.createToCompleted.max).toBe(999);
    expect(f.notSubmitted).toBe(1);
    expect(f.windowSeconds).toEqual({ created: 0.01, dispatched: 0.006, completed: 1 });
    expect(f.perSecond.completed).toBe(3);
    expect(f.createErrors).toBe(1);
  });
});
