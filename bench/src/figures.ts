import type { LoadResult } from "./load.js";
import { distribution, ratePerSecond, type Distribution } from "./stats.js";

/** What one measured batch of runs came to; times in ms, rates per second. */
export interface RunFigures {
  /** Create call sent → provider `submit` called. */
  createToSubmit: Distribution;
  /** Create call sent → response received. */
  createCall: Distribution;
  /** Create call sent → run COMPLETED (the run's `end_time`, millisecond resolution). */
  createToCompleted: Distribution;
  /** Over the window from the first create call sent to the last event of each kind. */
  perSecond: { created: number; dispatched: number; completed: number };
  /** Seconds from the first create call to the last response / submit / completion. */
  windowSeconds: { created: number; dispatched: number; completed: number };
  createErrors: number;
  createErrorMessages: string[];
  /** Created runs the provider never saw. */
  notSubmitted: number;
}

/** Joins what the client, the provider and the store saw of each run into the reported figures. */
export function figures(
  load: LoadResult,
  submittedAt: ReadonlyMap<string, number>,
  completedAt: ReadonlyMap<string, number>,
): RunFigures {
  const start = load.samples.reduce((min, s) => Math.min(min, s.sentAt), Infinity);
  const toSubmit: number[] = [];
  const submits: number[] = [];
  const toCompleted: number[] = [];
  const completions: number[] = [];
  for (const s of load.samples) {
    const submitted = submittedAt.get(s.flowRunId);
    if (submitted !== undefined) {
      toSubmit.push(submitted - s.sentAt);
      submits.push(submitted);
    }
    const completed = completedAt.get(s.flowRunId);
    if (completed !== undefined) {
      toCompleted.push(completed - s.sentAt);
      completions.push(completed);
    }
  }
  const received = load.samples.map((s) => s.receivedAt);
  const window = (times: number[]) => (times.length ? (times.reduce((a, b) => Math.max(a, b)) - start) / 1000 : 0);
  return {
    createToSubmit: distribution(toSubmit),
    createCall: distribution(load.samples.map((s) => s.receivedAt - s.sentAt)),
    createToCompleted: distribution(toCompleted),
    perSecond: {
      created: ratePerSecond(start, received),
      dispatched: ratePerSecond(start, submits),
      completed: ratePerSecond(start, completions),
    },
    windowSeconds: { created: window(received), dispatched: window(submits), completed: window(completions) },
    createErrors: load.errors,
    createErrorMessages: load.errorMessages,
    notSubmitted: load.samples.length - toSubmit.length,
  };
}
