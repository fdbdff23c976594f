import { describe, expect, it } from "vitest";
import type { InfrastructureStatus } from "./provider.js";
import { stateForInfrastructureStatus, stateForRunnerExit, timesForStateChange } from "./run-lifecycle.js";
import type { RunnerExit } from "./runner.js";
import { STATE_TYPES, TERMINAL_STATE_TYPES, canTransition, defaultStateName, type StateName, type StateType } from "./states.js";

const NON_TERMINAL: { type: StateType; name: StateName }[] = [
  { type: "SCHEDULED", name: "Scheduled" },
  { type: "SCHEDULED", name: "AwaitingConcurrencySlot" },
  { type: "PENDING", name: "Pending" },
  { type: "PENDING", name: "Submitting" },
  { type: "PENDING", name: "InfrastructurePending" },
  { type: "RUNNING", name: "Running" },
  { type: "CANCELLING", name: "Cancelling" },
];

const STATUSES: InfrastructureStatus[] = [
  { phase: "pending" },
  { phase: "pending", message: "pulling image" },
  { phase: "running" },
  { phase: "running", message: "task RUNNING" },
  { phase: "exited", exitCode: 0 },
  { phase: "exited", exitCode: 1 },
  { phase: "exited", exitCode: 137, message: "OutOfMemoryError" },
  { phase: "failed", message: "CannotPullContainerError" },
  { phase: "missing" },
  { phase: "missing", message: "task not found" },
];

describe("stateForInfrastructureStatus", () => {
  it("changes nothing for a run in a terminal state, whatever the platform says", () => {
    for (const type of TERMINAL_STATE_TYPES) {
      for (const status of STATUSES) {
        expect(stateForInfrastructureStatus({ type, name: defaultStateName(type) }, status)).toBeNull();
      }
    }
  });

  describe("pending", () => {
    it("marks a submitting run as waiting for its infrastructure, with the platform's message", () => {
      expect(stateForInfrastructureStatus({ type: "PENDING", name: "Submitting" }, { phase: "pending", message: "pulling image" })).toEqual({
        type: "PENDING",
        name: "InfrastructurePending",
        message: "pulling image",
      });
      expect(stateForInfrastructureStatus({ type: "PENDING", name: "Pending" }, { phase: "pending" })).toEqual({
        type: "PENDING",
        name: "InfrastructurePending",
        message: "waiting for the infrastructure to start",
      });
    });

    it("does not repeat InfrastructurePending", () => {
      expect(stateForInfrastructureStatus({ type: "PENDING", name: "InfrastructurePending" }, { phase: "pending", message: "still" })).toBeNull();
    });

    it.each([
      ["SCHEDULED", "Scheduled"],
      ["SCHEDULED", "AwaitingConcurrencySlot"],
      ["RUNNING", "Running"],
      ["CANCELLING", "Cancelling"],
    ] as const)("changes nothing for %s/%s", (type, name) => {
      expect(stateForInfrastructureStatus({ type, name }, { phase: "pending" })).toBeNull();
    });
  });

  describe("running", () => {
    it.each(["Pending", "Submitting", "InfrastructurePending"] as const)("moves PENDING/%s to RUNNING", (name) => {
      expect(stateForInfrastructureStatus({ type: "PENDING", name }, { phase: "running" })).toEqual({ type: "RUNNING", name: "Running", message: null });
    });

    it("keeps the platform's message", () => {
      expect(stateForInfrastructureStatus({ type: "PENDING", name: "Pending" }, { phase: "running", message: "task RUNNING" })?.message).toBe("task RUNNING");
    });

    it.each([
      ["SCHEDULED", "Scheduled"],
      ["RUNNING", "Running"],
      ["CANCELLING", "Cancelling"],
    ] as const)("changes nothing for %s/%s", (type, name) => {
      expect(stateForInfrastructureStatus({ type, name }, { phase: "running" })).toBeNull();
    });
  });

  describe("exited", () => {
    it.each([
      ["PENDING", "InfrastructurePending"],
      ["RUNNING", "Running"],
    ] as const)("exit 0 from %s completes the run", (type, name) => {
      expect(stateForInfrastructureStatus({ type, name }, { phase: "exited", exitCode: 0 })).toEqual({ type: "COMPLETED", name: "Completed", message: null });
      expect(stateForInfrastructureStatus({ type, name }, { phase: "exited", exitCode: 0, message: "done" })?.message).toBe("done");
    });

    it.each([
      ["PENDING", "Submitting"],
      ["RUNNING", "Running"],
    ] as const)("a non-zero exit from %s crashes the run, naming the code", (type, name) => {
      expect(stateForInfrastructureStatus({ type, name }, { phase: "exited", exitCode: 3 })).toEqual({
        type: "CRASHED",
        name: "Crashed",
        message: "the flow's process exited with code 3 without reporting a final state",
      });
    });

    it("appends the platform's reason to a non-zero exit", () => {
      expect(stateForInfrastructureStatus({ type: "RUNNING", name: "Running" }, { phase: "exited", exitCode: 137, message: "OutOfMemoryError" })).toEqual({
        type: "CRASHED",
        name: "Crashed",
        message: "the flow's process exited with code 137 without reporting a final state: OutOfMemoryError",
      });
    });

    it("treats a negative exit code (killed by a signal) as a crash", () => {
      expect(stateForInfrastructureStatus({ type: "RUNNING", name: "Running" }, { phase: "exited", exitCode: -9 })?.type).toBe("CRASHED");
    });
  });

  describe("failed and missing", () => {
    it.each([
      ["PENDING", "Submitting"],
      ["PENDING", "InfrastructurePending"],
      ["RUNNING", "Running"],
    ] as const)("crash a %s/%s run with the reason", (type, name) => {
      expect(stateForInfrastructureStatus({ type, name }, { phase: "failed", message: "CannotPullContainerError: no such image" })).toEqual({
        type: "CRASHED",
        name: "Crashed",
        message: "the infrastructure failed: CannotPullContainerError: no such image",
      });
      expect(stateForInfrastructureStatus({ type, name }, { phase: "missing" })).toEqual({
        type: "CRASHED",
        name: "Crashed",
        message: "the infrastructure disappeared",
      });
      expect(stateForInfrastructureStatus({ type, name }, { phase: "missing", message: "task arn:1 not found" })?.message).toBe(
        "the infrastructure disappeared: task arn:1 not found",
      );
    });
  });

  describe("CANCELLING", () => {
    const cancelling = { type: "CANCELLING", name: "Cancelling" } as const;

    it.each(STATUSES.filter((s) => s.phase === "exited" || s.phase === "failed" || s.phase === "missing"))(
      "ends CANCELLED on the final status %j",
      (status) => {
        expect(stateForInfrastructureStatus(cancelling, status)).toEqual({
          type: "CANCELLED",
          name: "Cancelled",
          message: "the infrastructure was stopped on request",
        });
      },
    );

    it("waits while the infrastructure is still up", () => {
      expect(stateForInfrastructureStatus(cancelling, { phase: "running" })).toBeNull();
      expect(stateForInfrastructureStatus(cancelling, { phase: "pending" })).toBeNull();
    });
  });

  // The dispatcher applies the result with assertTransition: a change the table refuses would stop it
  // following the run with an invalid_transition error instead of recording what happened.
  it("never proposes a transition the state table refuses", () => {
    const refused: string[] = [];
    for (const current of NON_TERMINAL) {
      for (const status of STATUSES) {
        const next = stateForInfrastructureStatus(current, status);
        if (next && !canTransition(current.type, next.type)) refused.push(`${current.name} + ${JSON.stringify(status)} -> ${next.type}`);
      }
    }
    expect(refused).toEqual([]);
  });
});

describe("timesForStateChange", () => {
  const AT = "2026-03-01T10:00:30.000Z";

  it("sets the start time when the run first runs", () => {
    expect(timesForStateChange({ start_time: null, end_time: null }, "RUNNING", AT)).toEqual({ start_time: AT });
  });

  it("keeps the first start time", () => {
    expect(timesForStateChange({ start_time: "2026-03-01T10:00:00.000Z", end_time: null }, "RUNNING", AT)).toEqual({});
  });

  it("sets the end time and the compute seconds when the run ends", () => {
    expect(timesForStateChange({ start_time: "2026-03-01T10:00:00.000Z", end_time: null }, "COMPLETED", AT)).toEqual({
      end_time: AT,
      compute_seconds: 30,
    });
  });

  it("counts fractions of a second", () => {
    expect(timesForStateChange({ start_time: "2026-03-01T10:00:29.750Z", end_time: null }, "CRASHED", AT).compute_seconds).toBe(0.25);
  });

  it("counts no compute for a run that never started", () => {
    expect(timesForStateChange({ start_time: null, end_time: null }, "CANCELLED", AT)).toEqual({ end_time: AT, compute_seconds: 0 });
  });

  it("never counts negative compute when clocks disagree", () => {
    expect(timesForStateChange({ start_time: "2026-03-01T10:01:00.000Z", end_time: null }, "FAILED", AT)).toEqual({ end_time: AT, compute_seconds: 0 });
  });

  it("does not move the end time of a run that already ended", () => {
    expect(timesForStateChange({ start_time: "2026-03-01T10:00:00.000Z", end_time: "2026-03-01T10:00:10.000Z" }, "COMPLETED", AT)).toEqual({});
  });

  it("changes nothing for the other non-terminal states", () => {
    for (const next of STATE_TYPES.filter((t) => t !== "RUNNING" && !TERMINAL_STATE_TYPES.has(t))) {
      expect(timesForStateChange({ start_time: null, end_time: null }, next, AT)).toEqual({});
    }
  });

  it.each([...TERMINAL_STATE_TYPES])("ends the run for %s", (next) => {
    expect(timesForStateChange({ start_time: "2026-03-01T09:00:30.000Z", end_time: null }, next, AT)).toEqual({ end_time: AT, compute_seconds: 3600 });
  });
});

describe("stateForRunnerExit", () => {
  const AT = "2026-03-01T10:00:30.000Z";
  const exit = (more: Partial<RunnerExit> = {}): RunnerExit => ({ exitCode: 1, oomKilled: false, startedAt: AT, finishedAt: AT, tail: ["last words"], ...more });
  const limits = { memoryMib: 2048, maxRuntimeSeconds: 3600, timedOut: false };

  it("says the platform's reason in plain words, with the last output", () => {
    expect(stateForRunnerExit({ type: "RUNNING" }, exit({ exitCode: 125, reason: "the image 'x:1' could not be pulled: not found" }), limits)).toMatchObject({
      type: "CRASHED",
      message: "the image 'x:1' could not be pulled: not found; its last output: last words",
    });
  });

  it("names a run the platform stopped at its deadline TimedOut", () => {
    expect(stateForRunnerExit({ type: "RUNNING" }, exit({ exitCode: 137, timedOut: true, reason: "deadline" }), limits)).toMatchObject({ type: "CRASHED", name: "TimedOut" });
  });

  it("puts out of memory before a platform's reason, and a cancel before both", () => {
    expect(stateForRunnerExit({ type: "RUNNING" }, exit({ oomKilled: true, reason: "evicted" }), limits)?.message).toContain("2 GiB memory limit");
    expect(stateForRunnerExit({ type: "CANCELLING" }, exit({ reason: "evicted" }), limits)).toMatchObject({ type: "CANCELLED" });
  });
});
