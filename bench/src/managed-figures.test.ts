import { describe, expect, it } from "vitest";
import type { FlowRunEvent } from "@ferry/core";
import { backendStartFrom, dependenciesFrom, handoffFigures, handoffSample, runFigures, type RunObservation } from "./managed-figures.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();
const entry = (type: string, name: string, ms: number) => ({ type, name, timestamp: at(ms) }) as RunObservation["history"][number];

function observation(over: Partial<RunObservation> = {}): RunObservation {
  return {
    flowRunId: "r",
    createSentAt: T0,
    startedAt: T0 + 300,
    firstFlowLine: { at: T0 + 2500, seenAt: T0 + 2700 },
    finalSeenAt: T0 + 3100,
    dependencies: "installed",
    run: { state: { type: "COMPLETED", name: "Completed", message: null, timestamp: at(3000) }, end_time: at(3000) },
    history: [entry("SCHEDULED", "Scheduled", 5), entry("PENDING", "Pending", 20), entry("RUNNING", "Running", 2400), entry("COMPLETED", "Completed", 3000)],
    ...over,
  };
}

describe("runFigures", () => {
  it("measures every milestone from the create call", () => {
    expect(runFigures(observation())).toMatchObject({
      finalState: "COMPLETED",
      dependencies: "installed",
      toPending: 20,
      toStarted: 300,
      toRunning: 2400,
      toFirstFlowLine: 2500,
      toFirstFlowLineSeen: 2700,
      toCompleted: 3000,
      toFinalSeen: 3100,
    });
  });

  it("leaves what the run never reached as NaN, so it cannot pass for a time", () => {
    const crashed = observation({
      firstFlowLine: null,
      run: { state: { type: "CRASHED", name: "Crashed", message: "no engine", timestamp: at(900) }, end_time: at(900) },
      history: [entry("PENDING", "Pending", 20), entry("CRASHED", "Crashed", 900)],
    });
    const f = runFigures(crashed);
    expect(f).toMatchObject({ finalState: "CRASHED", message: "no engine", toPending: 20 });
    expect(f.toRunning).toBeNaN();
    expect(f.toFirstFlowLine).toBeNaN();
    expect(f.toCompleted).toBeNaN();
  });
});

describe("handoffSample", () => {
  const first = observation({ run: { state: { type: "COMPLETED", name: "Completed", message: null, timestamp: at(3000) }, end_time: at(3000) } });
  const waited = (pendingMs: number, over: Partial<RunObservation> = {}) =>
    observation({
      createSentAt: T0 + 10,
      firstFlowLine: { at: T0 + 3600, seenAt: T0 + 3700 },
      history: [entry("SCHEDULED", "Scheduled", 15), entry("SCHEDULED", "AwaitingConcurrencySlot", 25), entry("PENDING", "Pending", pendingMs), entry("COMPLETED", "Completed", 5000)],
      ...over,
    });

  it("measures from the first run's end to the second's admission and first line", () => {
    expect(handoffSample(first, waited(3004))).toEqual({ endToPending: 4, endToFirstFlowLine: 600 });
  });

  it("refuses pairs that say nothing about a hand-off", () => {
    const noWait = observation({ history: [entry("PENDING", "Pending", 3004)] });
    expect(handoffSample(first, noWait)).toEqual({ invalid: "the second run never waited in AwaitingConcurrencySlot" });
    expect(handoffSample(first, waited(2990))).toEqual({ invalid: "the second run was admitted 10 ms before the first ended" });
    const failed = observation({ run: { state: { type: "FAILED", name: "Failed", message: "boom", timestamp: at(3000) }, end_time: at(3000) } });
    expect(handoffSample(failed, waited(3004))).toEqual({ invalid: "the first run ended FAILED: boom" });
  });

  it("summarises the pairs it could time and lists the others", () => {
    const h = handoffFigures([{ endToPending: 4, endToFirstFlowLine: 600 }, { invalid: "nope" }, { endToPending: 2, endToFirstFlowLine: Number.NaN }]);
    expect(h).toMatchObject({ pairs: 3, problems: ["nope"] });
    expect(h.endToPending).toMatchObject({ count: 2, p50: 2, max: 4 });
    expect(h.endToFirstFlowLine).toMatchObject({ count: 1, p50: 600 });
  });
});

describe("log lines", () => {
  const log = (source: string, message: string): FlowRunEvent => ({
    kind: "log",
    id: "1",
    flow_run_id: "r",
    log: { id: "1", flow_run_id: "r", level: "info", message, source, timestamp: at(42) },
  });

  it("tell whether the engine installed the packages or used its cache", () => {
    expect(dependenciesFrom(log("engine", "installing pip: six>=1 into the cached environment 0123"))).toBe("installed");
    expect(dependenciesFrom(log("engine", "using the cached environment 0123 (pip: six>=1): nothing to install"))).toBe("cached");
    expect(dependenciesFrom(log("flow", "using the cached environment, says the flow"))).toBeNull();
    expect(dependenciesFrom(log("engine", "cloned file:///repo at 0123 in 0.1 s"))).toBeNull();
  });

  it("tell when the backend started the engine", () => {
    expect(backendStartFrom(log("ferry", "Started on docker (0123456789ab), memory 2048 MiB, up to 86400 s"))).toBe(T0 + 42);
    expect(backendStartFrom(log("flow", "Started on a new task"))).toBeNull();
  });
});
