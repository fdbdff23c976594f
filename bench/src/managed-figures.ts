import type { FlowRun, FlowRunEvent, StateHistoryEntry } from "@ferry/core";
import { distribution, type Distribution } from "./stats.js";

/**
 * What the bench saw of one managed run, in epoch ms. Server and engine times are the ones they wrote
 * (state timestamps, `end_time`, a log line's `timestamp`: millisecond resolution, same host clock);
 * `…SeenAt` are when the bench's own `followRun` stream delivered the event.
 */
export interface RunObservation {
  flowRunId: string;
  /** The create call was sent (`Date.now()`, the clock the server and engine stamp with). */
  createSentAt: number;
  /** The server's "Started on <backend>" line: the backend's start call (container created and started) returned. */
  startedAt: number | null;
  /** The first log line whose source is "flow": its own timestamp, and when the stream delivered it. */
  firstFlowLine: { at: number; seenAt: number } | null;
  /** When the stream delivered the final state. */
  finalSeenAt: number | null;
  /** Whether the engine installed the packages or used its dependency cache, from its log lines. */
  dependencies: "installed" | "cached" | "none";
  run: Pick<FlowRun, "state" | "end_time">;
  history: Pick<StateHistoryEntry, "type" | "name" | "timestamp">[];
}

/** One run's milestones, each in ms from the create call being sent. */
export interface ManagedRunFigures {
  flowRunId: string;
  finalState: string;
  /** The final state's message, when it had one (why a run did not complete). */
  message: string | null;
  dependencies: RunObservation["dependencies"];
  /** Admitted: the dispatcher took a slot for it and asks the backend to start it. */
  toPending: number;
  /** The backend had started the engine (the server logs "Started on docker|process"). */
  toStarted: number;
  /** The engine reported RUNNING: code cloned, packages ready, the flow's process started. */
  toRunning: number;
  /** The flow's first line, as the engine stamped it. */
  toFirstFlowLine: number;
  /** The same line, as the client's event stream delivered it (the engine ships logs in batches). */
  toFirstFlowLineSeen: number;
  /** The run's `end_time`. */
  toCompleted: number;
  /** The final state, as the client's event stream delivered it. */
  toFinalSeen: number;
}

/** Turns one observation into milestones; a milestone the run never reached is NaN. */
export function runFigures(o: RunObservation): ManagedRunFigures {
  const since = (at: number | null | undefined) => (at === null || at === undefined || !Number.isFinite(at) ? Number.NaN : at - o.createSentAt);
  const first = (type: string) => {
    const entry = o.history.find((h) => h.type === type);
    return entry ? Date.parse(entry.timestamp) : null;
  };
  return {
    flowRunId: o.flowRunId,
    finalState: o.run.state.type,
    message: o.run.state.message ?? null,
    dependencies: o.dependencies,
    toPending: since(first("PENDING")),
    toStarted: since(o.startedAt),
    toRunning: since(first("RUNNING")),
    toFirstFlowLine: since(o.firstFlowLine?.at),
    toFirstFlowLineSeen: since(o.firstFlowLine?.seenAt),
    toCompleted: o.run.state.type === "COMPLETED" && o.run.end_time ? since(Date.parse(o.run.end_time)) : Number.NaN,
    toFinalSeen: since(o.finalSeenAt),
  };
}

/**
 * One hand-off on the free tier: run A held the only slot, run B waited for it. Times in ms from A's end
 * (its `end_time`, the moment its final state was written and the slot freed).
 */
export interface HandoffSample {
  /** A's end → B's PENDING history entry: the dispatcher noticed the free slot and admitted B. */
  endToPending: number;
  /** A's end → B's first flow line (B's engine start-up included). */
  endToFirstFlowLine: number;
}

/**
 * The hand-off between `first` and `second`, or why this pair tells nothing about one: B must have
 * waited in AwaitingConcurrencySlot, and A must have completed before B was admitted.
 */
export function handoffSample(first: RunObservation, second: RunObservation): HandoffSample | { invalid: string } {
  if (first.run.state.type !== "COMPLETED" || !first.run.end_time) return { invalid: `the first run ended ${first.run.state.type}${first.run.state.message ? `: ${first.run.state.message}` : ""}` };
  if (second.run.state.type !== "COMPLETED") return { invalid: `the second run ended ${second.run.state.type}${second.run.state.message ? `: ${second.run.state.message}` : ""}` };
  const waited = second.history.some((h) => h.name === "AwaitingConcurrencySlot");
  if (!waited) return { invalid: "the second run never waited in AwaitingConcurrencySlot" };
  const pending = second.history.find((h) => h.type === "PENDING");
  if (!pending) return { invalid: "the second run has no PENDING entry in its history" };
  const end = Date.parse(first.run.end_time);
  const endToPending = Date.parse(pending.timestamp) - end;
  if (endToPending < 0) return { invalid: `the second run was admitted ${-endToPending} ms before the first ended` };
  return { endToPending, endToFirstFlowLine: second.firstFlowLine ? second.firstFlowLine.at - end : Number.NaN };
}

export interface HandoffFigures {
  /** Pairs timed, and why the others were not. */
  pairs: number;
  samples: HandoffSample[];
  problems: string[];
  endToPending: Distribution;
  endToFirstFlowLine: Distribution;
}

export function handoffFigures(results: (HandoffSample | { invalid: string })[]): HandoffFigures {
  const samples = results.filter((r): r is HandoffSample => !("invalid" in r));
  return {
    pairs: results.length,
    samples,
    problems: results.filter((r): r is { invalid: string } => "invalid" in r).map((r) => r.invalid),
    endToPending: distribution(samples.map((s) => s.endToPending)),
    endToFirstFlowLine: distribution(samples.map((s) => s.endToFirstFlowLine).filter(Number.isFinite)),
  };
}

/** When the server logged that the backend started the run's engine, from its "Started on …" line. */
export function backendStartFrom(event: FlowRunEvent): number | null {
  if (event.kind !== "log" || event.log.source !== "ferry" || !/^Started on /.test(event.log.message)) return null;
  return Date.parse(event.log.timestamp);
}

/** What the engine's own log lines say about the dependency cache. */
export function dependenciesFrom(event: FlowRunEvent): RunObservation["dependencies"] | null {
  if (event.kind !== "log" || event.log.source !== "engine") return null;
  if (/^installing .* into the cached environment|^installed pip packages/.test(event.log.message)) return "installed";
  if (/^using the cached environment/.test(event.log.message)) return "cached";
  return null;
}
