import { describe, expect, it } from "vitest";
import type { StateType } from "@ferry/core";
import { RunStateCounts } from "./metrics.js";

/** A store holding runs by state, that notes which counts were asked for. */
class CountingStore {
  readonly calls: ("all" | "unfinished")[] = [];
  constructor(public runs: Partial<Record<StateType, number>>) {}
  async countFlowRunsByState(options: { unfinishedOnly?: boolean } = {}): Promise<Partial<Record<StateType, number>>> {
    this.calls.push(options.unfinishedOnly ? "unfinished" : "all");
    const unfinished = ["SCHEDULED", "PENDING", "RUNNING", "CANCELLING"];
    return Object.fromEntries(Object.entries(this.runs).filter(([state]) => !options.unfinishedOnly || unfinished.includes(state)));
  }
}

describe("RunStateCounts", () => {
  it("counts every run at most once a minute, and the unfinished ones at each read in between", async () => {
    let now = 0;
    const store = new CountingStore({ COMPLETED: 10, RUNNING: 2 });
    const counts = new RunStateCounts(store, 60_000, () => now);
    expect(await counts.read()).toEqual({ COMPLETED: 10, RUNNING: 2 });

    store.runs = { COMPLETED: 11, RUNNING: 1, SCHEDULED: 3 };
    now = 59_999;
    // The unfinished states are current; the final ones as counted at the last full count.
    expect(await counts.read()).toEqual({ COMPLETED: 10, RUNNING: 1, SCHEDULED: 3 });
    now = 60_000;
    expect(await counts.read()).toEqual({ COMPLETED: 11, RUNNING: 1, SCHEDULED: 3 });
    expect(store.calls).toEqual(["all", "unfinished", "all"]);
  });
});
