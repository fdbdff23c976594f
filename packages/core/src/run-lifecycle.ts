import type { InfrastructureStatus } from "./provider.js";
import type { RunnerExit } from "./runner.js";
import { isTerminal, stateChange, type StateChange, type StateName, type StateType } from "./states.js";

/**
 * What a platform status means for a run in state `current`: the next state, or null when nothing
 * changes. Providers report what the platform says; this decides what it means, the same for every
 * platform. `stopConfirmed` (for a CANCELLING run): whether the platform accepted the request to stop;
 * a run that ends while its stop is still being retried is CANCELLED too, and says so.
 */
export function stateForInfrastructureStatus(
  current: { type: StateType; name: StateName },
  status: InfrastructureStatus,
  stopConfirmed = true,
): StateChange | null {
  if (isTerminal(current.type) || current.type === "SCHEDULED") return null;
  const final = status.phase === "exited" || status.phase === "failed" || status.phase === "missing";
  if (current.type === "CANCELLING") {
    if (!final) return null;
    return stateChange("CANCELLED", {
      message: stopConfirmed ? "the infrastructure was stopped on request" : "the infrastructure ended by itself while Ferry was still trying to stop it",
    });
  }
  switch (status.phase) {
    case "pending":
      if (current.type === "PENDING" && current.name !== "InfrastructurePending") {
        return stateChange("PENDING", { name: "InfrastructurePending", message: status.message ?? "waiting for the infrastructure to start" });
      }
      return null;
    case "running":
      return current.type === "PENDING" ? stateChange("RUNNING", { message: status.message ?? null }) : null;
    case "exited":
      if (status.exitCode === 0) return stateChange("COMPLETED", { message: status.message ?? null });
      return stateChange("CRASHED", {
        message: `the flow's process exited with code ${status.exitCode} without reporting a final state${status.message ? `: ${status.message}` : ""}`,
      });
    case "failed":
      return stateChange("CRASHED", { message: `the infrastructure failed: ${status.message}` });
    case "missing":
      return stateChange("CRASHED", { message: `the infrastructure disappeared${status.message ? `: ${status.message}` : ""}` });
  }
}

/** Run times that follow from a state change: start when it first runs, end and compute time when it ends. */
export function timesForStateChange(
  run: { start_time: string | null; end_time: string | null },
  next: StateType,
  at: string,
): { start_time?: string; end_time?: string; compute_seconds?: number } {
  const out: { start_time?: string; end_time?: string; compute_seconds?: number } = {};
  if (next === "RUNNING" && !run.start_time) out.start_time = at;
  if (isTerminal(next) && !run.end_time) {
    out.end_time = at;
    const start = out.start_time ?? run.start_time;
    out.compute_seconds = start ? Math.max(0, (Date.parse(at) - Date.parse(start)) / 1000) : 0;
  }
  return out;
}

/** "2 GiB", "512 MiB": how limits are named in messages. */
export function formatMemory(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

export function formatDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/**
 * What the end of a managed run's engine means when the engine did not report a final state itself
 * (it always does when the flow's code returns or raises). Out of memory, the runtime limit and a
 * vanished engine are the infrastructure's failures: CRASHED, with the limit named.
 */
export function stateForRunnerExit(
  current: { type: StateType },
  exit: RunnerExit,
  limits: { memoryMib: number; maxRuntimeSeconds: number; timedOut: boolean },
): StateChange | null {
  // SCHEDULED: the attempt this instance ran already ended (its engine reported) and the run awaits a retry.
  if (isTerminal(current.type) || current.type === "SCHEDULED") return null;
  if (current.type === "CANCELLING") return stateChange("CANCELLED", { message: "the run's container was stopped on request" });
  if (limits.timedOut || exit.timedOut) {
    return stateChange("CRASHED", {
      name: "TimedOut",
      message: `the run exceeded the maximum runtime of ${formatDuration(limits.maxRuntimeSeconds)} and was stopped`,
    });
  }
  if (exit.oomKilled) {
    return stateChange("CRASHED", {
      message: `the run exceeded the ${formatMemory(limits.memoryMib)} memory limit (dependency installation included) and was killed`,
    });
  }
  const last = exit.tail.filter((l) => l.trim()).at(-1);
  if (exit.reason) {
    return stateChange("CRASHED", { message: `${exit.reason}${last ? `; its last output: ${last.slice(0, 500)}` : ""}` });
  }
  return stateChange("CRASHED", {
    message: `the engine exited with code ${exit.exitCode} without reporting a final state${last ? `; its last output: ${last.slice(0, 500)}` : ""}`,
  });
}

/** How a run is retried: fixed on the run when it is created, from its deployment and the run's own override. */
export interface RetryPolicy {
  /** Further attempts after the first (0..10). */
  retries: number;
  retry_delay_seconds: number;
  /** CRASHED (the infrastructure failed) is retried only when this is set; FAILED always is, CANCELLED never. */
  retry_on_crash: boolean;
}

export const RETRY_DEFAULTS: RetryPolicy = { retries: 0, retry_delay_seconds: 0, retry_on_crash: false };

/** What a new run has of the retry fields before anything sets them: one attempt, no retry, no re-run. */
export const NEW_RUN_RETRY_FIELDS = {
  ...RETRY_DEFAULTS,
  attempt: 1,
  next_attempt_at: null as string | null,
  source_commit: null as string | null,
  rerun_of: null as string | null,
};

export interface RetryDecision {
  /** What the run moves to instead of the end it was about to reach. */
  change: StateChange;
  /** The next attempt's number (1 was the first) and when it may start. */
  attempt: number;
  next_attempt_at: string;
}

/**
 * Whether an attempt that is about to end as `change` is retried instead, as a new attempt of the same
 * run (Prefect's AwaitingRetry): FAILED while attempts are left, CRASHED too with retry_on_crash,
 * never a cancel (nor an end reached while CANCELLING: the user asked for it to stop). The failure's
 * own words stay in the retry's message, so the history shows why each attempt ended.
 */
export function retryAfterEnd(
  run: { state: { type: StateType }; attempt: number } & RetryPolicy,
  change: StateChange,
  now: Date,
): RetryDecision | null {
  if (change.type !== "FAILED" && change.type !== "CRASHED") return null;
  if (change.type === "CRASHED" && !run.retry_on_crash) return null;
  if (run.state.type !== "PENDING" && run.state.type !== "RUNNING") return null;
  const total = run.retries + 1;
  if (run.attempt >= total) return null;
  const next = run.attempt + 1;
  const at = new Date(now.getTime() + run.retry_delay_seconds * 1000).toISOString();
  const why = change.message ? `: ${change.message}` : "";
  const when = run.retry_delay_seconds > 0 ? `in ${formatDuration(run.retry_delay_seconds)}` : "now";
  return {
    change: stateChange("SCHEDULED", {
      name: "AwaitingRetry",
      message: `attempt ${run.attempt} of ${total} ended ${change.name}${why}; attempt ${next} starts ${when}`.slice(0, 20000),
    }),
    attempt: next,
    next_attempt_at: at,
  };
}

/** A run's retry policy: the run's own override over its deployment's, over none (the schemas hold the limits). */
export function resolveRetryPolicy(deployment: Partial<RetryPolicy>, override: Partial<RetryPolicy> = {}): RetryPolicy {
  const pick = <K extends keyof RetryPolicy>(key: K): RetryPolicy[K] => override[key] ?? deployment[key] ?? RETRY_DEFAULTS[key];
  return { retries: pick("retries"), retry_delay_seconds: pick("retry_delay_seconds"), retry_on_crash: pick("retry_on_crash") };
}
