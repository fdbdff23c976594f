import { describe, expect, it } from "vitest";
import { ago, duration, hasActiveRuns, poolNodes, runNodes, stateIcon, stateLabel } from "../src/tree-model.js";
import { deployment, pool, run } from "./fixtures.js";

const now = new Date("2026-11-22T12:00:00.000Z");

describe("poolNodes", () => {
  it("lists pools by name with their deployments by flow/name, and pools without deployments", () => {
    const pools = [pool("zeta"), pool("alpha", { type: "acme:push" }), pool("empty")];
    const deployments = [deployment("etl", "nightly", "alpha"), deployment("etl", "adhoc", "alpha"), deployment("hello", "greet", "zeta")];
    const nodes = poolNodes(pools, deployments);
    expect(nodes.map((n) => n.label)).toEqual(["alpha", "empty", "zeta"]);
    expect(nodes[0]!.children.map((c) => c.label)).toEqual(["etl/adhoc", "etl/nightly"]);
    expect(nodes[0]!.description).toBe("acme:push · 2 deployments");
    expect(nodes[1]!.children).toEqual([]);
    expect(nodes[1]!.description).toBe("ferry:managed · 0 deployments");
    expect(nodes[2]!.description).toBe("ferry:managed · 1 deployment");
    expect(nodes.every((n) => n.contextValue === "pool")).toBe(true);
    expect(nodes[0]!.children.every((c) => c.contextValue === "deployment")).toBe(true);
  });

  it("drops deployments whose pool is not listed (another page, or deleted meanwhile)", () => {
    const nodes = poolNodes([pool("a")], [deployment("etl", "x", "gone")]);
    expect(nodes[0]!.children).toEqual([]);
  });

  it("marks paused pools, in the description, icon and context value", () => {
    const [node] = poolNodes([pool("p", { paused: true, concurrency_limit: 2 })], []);
    expect(node!.description).toContain("paused");
    expect(node!.contextValue).toBe("pool.paused");
    expect(node!.icon.id).toBe("debug-pause");
    expect(node!.tooltip).toContain("At most 2 runs at a time.");
  });

  it("shows each deployment's latest run state", () => {
    const d = deployment("etl", "nightly", "p");
    const older = run(d, "FAILED", { created: "2026-11-22T10:00:00.000Z", end: "2026-11-22T10:01:00.000Z" });
    const newer = run(d, "COMPLETED", { created: "2026-11-22T11:00:00.000Z", end: "2026-11-22T11:01:00.000Z" });
    const [node] = poolNodes([pool("p")], [d], [newer, older]);
    expect(node!.children[0]!.description).toBe("COMPLETED");
    expect(node!.children[0]!.icon).toEqual(stateIcon("COMPLETED"));
    expect(node!.children[0]!.lastRun?.id).toBe(newer.id);
    expect(node!.children[0]!.tooltip).toContain("Entrypoint: flows/etl.py:etl");
  });

  it("gives a deployment without runs a neutral icon and no state", () => {
    const [node] = poolNodes([pool("p")], [deployment("etl", "nightly", "p")]);
    expect(node!.children[0]!.description).toBe("");
    expect(node!.children[0]!.icon.id).toBe("rocket");
  });
});

describe("runNodes", () => {
  const d = deployment("hello", "greet", "p");
  it("orders runs newest first with state, timing and run name", () => {
    const done = run(d, "COMPLETED", { created: "2026-11-22T11:00:00.000Z", start: "2026-11-22T11:00:02.000Z", end: "2026-11-22T11:01:07.000Z" });
    const going = run(d, "RUNNING", { created: "2026-11-22T11:59:00.000Z", start: "2026-11-22T11:59:30.000Z" });
    const nodes = runNodes([done, going], now);
    expect(nodes.map((n) => n.run.id)).toEqual([going.id, done.id]);
    expect(nodes[0]!.label).toBe("hello/greet");
    expect(nodes[0]!.description).toBe(`RUNNING · for 30s · ${going.name}`);
    expect(nodes[0]!.contextValue).toBe("run.active");
    expect(nodes[0]!.icon.id).toBe("sync~spin");
    expect(nodes[1]!.description).toBe(`COMPLETED · 58m ago, took 1m 05s · ${done.name}`);
    expect(nodes[1]!.contextValue).toBe("run.final");
  });

  it("names sub-states, and puts the state message in the tooltip", () => {
    const timedOut = run(d, "CRASHED", { created: "2026-11-22T09:00:00.000Z", end: "2026-11-22T10:00:00.000Z" });
    timedOut.state = { ...timedOut.state, name: "TimedOut", message: "ran longer than 1 h" };
    const [node] = runNodes([timedOut], now);
    expect(node!.description.startsWith("CRASHED (TimedOut)")).toBe(true);
    expect(node!.tooltip).toContain("State: CRASHED (TimedOut): ran longer than 1 h");
    expect(node!.icon.id).toBe("flame");
  });

  it("treats CANCELLING as still active (it can be watched, not cancelled again)", () => {
    const r = run(d, "CANCELLING", { created: "2026-11-22T11:00:00.000Z" });
    expect(runNodes([r], now)[0]!.contextValue).toBe("run.active");
    expect(hasActiveRuns([r])).toBe(true);
  });
});

describe("helpers", () => {
  it("hasActiveRuns is false when every run ended", () => {
    const d = deployment("a", "b", "p");
    expect(hasActiveRuns([])).toBe(false);
    expect(hasActiveRuns([run(d, "COMPLETED", { created: "2026-11-22T11:00:00.000Z" }), run(d, "CANCELLED", { created: "2026-11-22T11:00:00.000Z" })])).toBe(false);
    expect(hasActiveRuns([run(d, "SCHEDULED", { created: "2026-11-22T11:00:00.000Z" })])).toBe(true);
  });

  it("formats ages and durations", () => {
    expect(ago("2026-11-22T11:59:58.000Z", now)).toBe("just now");
    expect(ago("2026-11-22T12:00:30.000Z", now)).toBe("just now");
    expect(ago("2026-11-22T11:59:00.000Z", now)).toBe("1m ago");
    expect(ago("2026-11-22T11:59:15.000Z", now)).toBe("45s ago");
    expect(ago("2026-11-22T09:00:00.000Z", now)).toBe("3h ago");
    expect(ago("2026-11-15T12:00:00.000Z", now)).toBe("7d ago");
    expect(duration(0)).toBe("0s");
    expect(duration(59.6)).toBe("1m 00s");
    expect(duration(3725)).toBe("1h 02m");
  });

  it("labels a state by its type, naming a sub-state", () => {
    expect(stateLabel({ type: "COMPLETED", name: "Completed" })).toBe("COMPLETED");
    expect(stateLabel({ type: "SCHEDULED", name: "AwaitingConcurrencySlot" })).toBe("SCHEDULED (AwaitingConcurrencySlot)");
  });
});
