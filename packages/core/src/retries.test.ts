import { describe, expect, it } from "vitest";
import { resolveRetryPolicy, retryAfterEnd, stateForRunnerExit } from "./run-lifecycle.js";
import { canTransition, stateChange, type StateType } from "./states.js";
import { idempotencyKeyForRun, infrastructureNameFor } from "./provider.js";

const NOW = new Date("2026-06-01T10:00:00.000Z");
const run = (over: Partial<{ type: StateType; attempt: number; retries: number; retry_delay_seconds: number; retry_on_crash: boolean }> = {}) => ({
  state: { type: over.type ?? ("RUNNING" as StateType) },
  attempt: over.attempt ?? 1,
  retries: over.retries ?? 2,
  retry_delay_seconds: over.retry_delay_seconds ?? 0,
  retry_on_crash: over.retry_on_crash ?? false,
});

describe("retryAfterEnd", () => {
  it("turns a FAILED attempt with attempts left into AwaitingRetry, keeping the failure's words", () => {
    const decision = retryAfterEnd(run({ retry_delay_seconds: 30 }), stateChange("FAILED", { message: "ValueError: boom" }), NOW);
    expect(decision).toEqual({
      change: { type: "SCHEDULED", name: "AwaitingRetry", message: "attempt 1 of 3 ended Failed: ValueError: boom; attempt 2 starts in 30 s" },
      attempt: 2,
      next_attempt_at: "2026-06-01T10:00:30.000Z",
    });
  });

  it("lets the last attempt end as it ends", () => {
    expect(retryAfterEnd(run({ attempt: 3 }), stateChange("FAILED"), NOW)).toBeNull();
    expect(retryAfterEnd(run({ attempt: 2 }), stateChange("FAILED"), NOW)?.attempt).toBe(3);
    expect(retryAfterEnd(run({ retries: 0 }), stateChange("FAILED"), NOW)).toBeNull();
  });

  it("retries CRASHED only with retry_on_crash", () => {
    expect(retryAfterEnd(run(), stateChange("CRASHED", { name: "TimedOut" }), NOW)).toBeNull();
    expect(retryAfterEnd(run({ retry_on_crash: true }), stateChange("CRASHED", { message: "oom" }), NOW)?.change.message).toBe(
      "attempt 1 of 3 ended Crashed: oom; attempt 2 starts now",
    );
  });

  it("never retries a cancel, a completion, or an end reached while cancelling or before starting", () => {
    expect(retryAfterEnd(run({ retry_on_crash: true }), stateChange("CANCELLED"), NOW)).toBeNull();
    expect(retryAfterEnd(run(), stateChange("COMPLETED"), NOW)).toBeNull();
    expect(retryAfterEnd(run({ type: "CANCELLING" }), stateChange("FAILED"), NOW)).toBeNull();
    expect(retryAfterEnd(run({ type: "SCHEDULED", retry_on_crash: true }), stateChange("CRASHED"), NOW)).toBeNull();
    expect(retryAfterEnd(run({ type: "PENDING", retry_on_crash: true }), stateChange("CRASHED"), NOW)?.attempt).toBe(2);
  });
});

describe("retry transitions", () => {
  it("lets only AwaitingRetry take a started run back to SCHEDULED", () => {
    expect(canTransition("RUNNING", "SCHEDULED", "AwaitingRetry")).toBe(true);
    expect(canTransition("PENDING", "SCHEDULED", "AwaitingRetry")).toBe(true);
    expect(canTransition("RUNNING", "SCHEDULED", "Scheduled")).toBe(false);
    expect(canTransition("RUNNING", "SCHEDULED")).toBe(false);
    expect(canTransition("CANCELLING", "SCHEDULED", "AwaitingRetry")).toBe(false);
    expect(canTransition("FAILED", "SCHEDULED", "AwaitingRetry")).toBe(false);
  });

  it("ignores the exit of an instance whose run already awaits its retry", () => {
    const exit = { exitCode: 1, oomKilled: false, tail: [], startedAt: NOW.toISOString(), finishedAt: NOW.toISOString() };
    expect(stateForRunnerExit({ type: "SCHEDULED" }, exit, { memoryMib: 2048, maxRuntimeSeconds: 60, timedOut: false })).toBeNull();
  });
});

describe("resolveRetryPolicy", () => {
  it("takes the run's override over its deployment's, over none", () => {
    expect(resolveRetryPolicy({})).toEqual({ retries: 0, retry_delay_seconds: 0, retry_on_crash: false });
    expect(resolveRetryPolicy({ retries: 2, retry_delay_seconds: 5 }, { retries: 0, retry_on_crash: true })).toEqual({
      retries: 0,
      retry_delay_seconds: 5,
      retry_on_crash: true,
    });
  });
});

describe("what a retried attempt is submitted as", () => {
  it("keeps attempt 1's idempotency key and infrastructure name, and gives each later attempt its own", () => {
    const id = "0193a1b2-3c4d-7e8f-9a0b-1c2d3e4f5a6b";
    expect(idempotencyKeyForRun(id)).toBe(`ferry-${id}`);
    expect(idempotencyKeyForRun(id, 1)).toBe(`ferry-${id}`);
    expect(idempotencyKeyForRun(id, 3)).toBe(`ferry-${id}-3`);
    expect(infrastructureNameFor({ id })).toBe(id);
    expect(infrastructureNameFor({ id, attempt: 1 })).toBe(id);
    expect(infrastructureNameFor({ id, attempt: 2 })).toBe(`${id}-2`);
  });
});
