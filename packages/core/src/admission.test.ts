import { describe, expect, it } from "vitest";
import { computeHoursSpent, decideAdmission, type AdmissionPool, type AdmissionTier, type QueuedRun } from "./admission.js";
import { stateChange } from "./states.js";
import { TIERS } from "./tiers.js";

const scheduled = { type: "SCHEDULED" as const, name: "Scheduled" as const };
const awaiting = { type: "SCHEDULED" as const, name: "AwaitingConcurrencySlot" as const };
const admitted = stateChange("PENDING", { message: "starting on docker" });

const run = (id: string, pool = "p1", state: QueuedRun["state"] = scheduled): QueuedRun => ({ id, work_pool_id: pool, state });
const pool = (overrides: Partial<AdmissionPool> = {}): AdmissionPool => ({ name: "etl", paused: false, concurrency_limit: null, active: 0, ...overrides });
const freeTier = (overrides: Partial<AdmissionTier> = {}): AdmissionTier => ({
  tier: "free",
  limits: { ...TIERS.free },
  activeManagedRuns: 0,
  computeSecondsThisMonth: 0,
  ...overrides,
});
const actions = (decisions: ReturnType<typeof decideAdmission>) => decisions.map((d) => `${d.run.id}:${d.action}`);

describe("decideAdmission: a workspace's tier (managed runs)", () => {
  it("admits as many runs as the tier has free slots, oldest first, and makes the rest wait with the reason", () => {
    const decisions = decideAdmission({
      queued: [run("a"), run("b"), run("c")],
      pools: new Map([["p1", pool()]]),
      tier: freeTier({ limits: { ...TIERS.free, concurrent_managed_runs: 2 } }),
      admitted,
    });
    expect(actions(decisions)).toEqual(["a:admit", "b:admit", "c:wait"]);
    expect(decisions[0]!.change).toBe(admitted);
    expect(decisions[2]!.change).toEqual({
      type: "SCHEDULED",
      name: "AwaitingConcurrencySlot",
      message: "the free tier runs 2 managed runs at a time; this one starts when a slot frees",
    });
  });

  it("counts the runs already active, and says 'run' for a limit of one", () => {
    const decisions = decideAdmission({ queued: [run("a")], pools: new Map([["p1", pool()]]), tier: freeTier({ activeManagedRuns: 1 }), admitted });
    expect(decisions[0]).toMatchObject({ action: "wait", change: { message: "the free tier runs 1 managed run at a time; this one starts when a slot frees" } });
  });

  it("does not write AwaitingConcurrencySlot again for a run that already waits", () => {
    const decisions = decideAdmission({ queued: [run("a", "p1", awaiting)], pools: new Map([["p1", pool()]]), tier: freeTier({ activeManagedRuns: 1 }), admitted });
    expect(decisions).toEqual([{ run: run("a", "p1", awaiting), action: "wait", change: null }]);
  });

  it("admits a run that waited once a slot is free", () => {
    const decisions = decideAdmission({ queued: [run("a", "p1", awaiting)], pools: new Map([["p1", pool()]]), tier: freeTier(), admitted });
    expect(actions(decisions)).toEqual(["a:admit"]);
  });

  it("cancels every queued run once the month's compute hours are spent, saying why", () => {
    const tier = freeTier({ computeSecondsThisMonth: 10 * 3600 });
    expect(computeHoursSpent(tier)).toBe(true);
    expect(computeHoursSpent(freeTier({ computeSecondsThisMonth: 10 * 3600 - 1 }))).toBe(false);
    const decisions = decideAdmission({ queued: [run("a"), run("b", "paused")], pools: new Map([["p1", pool()], ["paused", pool({ paused: true })]]), tier, admitted });
    expect(actions(decisions)).toEqual(["a:cancel", "b:cancel"]);
    expect(decisions[0]!.change).toEqual({
      type: "CANCELLED",
      name: "Cancelled",
      message: "cancelled: this workspace has used its 10 managed compute hours for this month (free tier)",
    });
  });

  it("holds the runs of a paused or deleted pool without taking a slot or blocking others", () => {
    const decisions = decideAdmission({
      queued: [run("a", "paused"), run("b", "gone"), run("c")],
      pools: new Map([["p1", pool()], ["paused", pool({ paused: true })]]),
      tier: freeTier(),
      admitted,
    });
    expect(decisions.map((d) => [d.run.id, d.action, d.change])).toEqual([
      ["a", "hold", null],
      ["b", "hold", null],
      ["c", "admit", admitted],
    ]);
  });
});

describe("decideAdmission: a pool's concurrency limit (push and managed runs)", () => {
  it("admits up to the pool's limit and makes the rest wait, naming the pool", () => {
    const decisions = decideAdmission({ queued: [run("a"), run("b"), run("c")], pools: new Map([["p1", pool({ concurrency_limit: 2, active: 1 })]]), admitted });
    expect(actions(decisions)).toEqual(["a:admit", "b:wait", "c:wait"]);
    expect(decisions[1]!.change?.message).toBe("work pool 'etl' is running 2 of its 2 allowed runs; this run starts when one ends");
  });

  it("has no limit without a tier and a pool limit", () => {
    const queued = Array.from({ length: 50 }, (_, i) => run(`r${i}`));
    expect(decideAdmission({ queued, pools: new Map([["p1", pool()]]), admitted }).every((d) => d.action === "admit")).toBe(true);
  });

  it("a full pool does not stop another pool's runs from starting", () => {
    const decisions = decideAdmission({
      queued: [run("a", "full"), run("b", "open")],
      pools: new Map([["full", pool({ name: "full", concurrency_limit: 1, active: 1 })], ["open", pool({ name: "open" })]]),
      tier: freeTier({ limits: { ...TIERS.free, concurrent_managed_runs: 5 } }),
      admitted,
    });
    expect(actions(decisions)).toEqual(["a:wait", "b:admit"]);
  });

  it("applies both the pool's and the tier's limits: a run needs a slot in each", () => {
    const decisions = decideAdmission({
      queued: [run("a"), run("b", "p2"), run("c", "p2")],
      pools: new Map([["p1", pool({ concurrency_limit: 0 })], ["p2", pool({ name: "other" })]]),
      tier: freeTier({ limits: { ...TIERS.free, concurrent_managed_runs: 1 } }),
      admitted,
    });
    expect(actions(decisions)).toEqual(["a:wait", "b:admit", "c:wait"]);
    expect(decisions[0]!.change?.message).toMatch(/^work pool 'etl' is running 0 of its 0 allowed runs/);
    expect(decisions[2]!.change?.message).toMatch(/^the free tier runs 1 managed run at a time/);
  });
});

describe("decideAdmission: a deployment's concurrency limit and collision strategy", () => {
  const of = (id: string, deployment: string, state: QueuedRun["state"] = scheduled): QueuedRun => ({ id, work_pool_id: "p1", deployment_id: deployment, state });
  const limited = (strategy: "enqueue" | "cancel_new", active = 0) =>
    new Map([["d1", { name: "nightly", concurrency_limit: 1, collision_strategy: strategy, active }]]);

  it("enqueue: admits up to the limit, the rest wait with the reason; other deployments are not held back", () => {
    const decisions = decideAdmission({ queued: [of("a", "d1"), of("b", "d1"), of("c", "d2")], pools: new Map([["p1", pool()]]), deployments: limited("enqueue"), admitted });
    expect(actions(decisions)).toEqual(["a:admit", "b:wait", "c:admit"]);
    expect(decisions[1]!.change?.message).toBe("deployment 'nightly' is running 1 of its 1 allowed runs; this run starts when one ends");
  });

  it("cancel_new: a run that finds the limit reached is cancelled, saying why", () => {
    const decisions = decideAdmission({ queued: [of("a", "d1"), of("b", "d1")], pools: new Map([["p1", pool()]]), deployments: limited("cancel_new", 1), admitted });
    expect(actions(decisions)).toEqual(["a:cancel", "b:cancel"]);
    expect(decisions[0]!.change).toMatchObject({ type: "CANCELLED", message: expect.stringContaining("collision_strategy cancel_new") });
  });

  it("leaves a Late run Late while it waits", () => {
    const late = { type: "SCHEDULED" as const, name: "Late" as const };
    const decisions = decideAdmission({ queued: [of("a", "d1", late)], pools: new Map([["p1", pool()]]), deployments: limited("enqueue", 1), admitted });
    expect(decisions[0]).toEqual({ run: of("a", "d1", late), action: "wait", change: null });
  });
});
