import { stateChange, type StateChange, type StateType } from "@ferry/core";

/** Runs per `Store.insertFlowRuns` call: one statement of about a megabyte of JSON. */
export const SEED_BATCH = 2000;
/** The seeded runs' creation times cover this span, ending a minute before the seeding starts. */
export const SEED_SPAN_MS = 30 * 24 * 3600_000;

/**
 * The state of the `i`th seeded run, the way a store looks after a while: in every 100, one waiting
 * (SCHEDULED: unfinished, what recovery reads at start), five FAILED, two CANCELLED, one CRASHED and
 * the rest COMPLETED. Spread by index so any run of consecutive runs has the same mix.
 */
export function seedState(i: number): StateType {
  const k = i % 100;
  if (k === 0) return "SCHEDULED";
  if (k % 20 === 7) return "FAILED";
  if (k === 13 || k === 63) return "CANCELLED";
  if (k === 31) return "CRASHED";
  return "COMPLETED";
}

export interface SeededRun {
  /** Every state the run went through, its current one last. */
  states: StateChange[];
  createdAt: string;
}

/** The `i`th of `n` seeded runs: its states, and a creation time evenly spread over the 30 days before `nowMs`, oldest first. */
export function seedRun(i: number, n: number, nowMs: number): SeededRun {
  const type = seedState(i);
  const createdAt = new Date(nowMs - 60_000 - SEED_SPAN_MS + Math.floor(((i + 1) * SEED_SPAN_MS) / n)).toISOString();
  const waiting = stateChange("SCHEDULED", { message: "work pool 'bench-seeded' is paused; the run starts when it is resumed" });
  if (type === "SCHEDULED") return { states: [waiting], createdAt };
  const started = [stateChange("SCHEDULED"), stateChange("PENDING"), stateChange("RUNNING")];
  const message = type === "FAILED" ? "flow raised ValueError: bad input" : type === "CRASHED" ? "the container exited with code 137 (out of memory)" : null;
  return { states: [...started, stateChange(type, { message })], createdAt };
}

/** The batches `n` runs are inserted in: [first index, count] pairs of at most `batch` runs. */
export function seedBatches(n: number, batch = SEED_BATCH): [number, number][] {
  const batches: [number, number][] = [];
  for (let first = 0; first < n; first += batch) batches.push([first, Math.min(batch, n - first)]);
  return batches;
}
