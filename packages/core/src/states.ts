import { FerryError } from "./errors.js";

/**
 * Flow-run states. The type is what code switches on; the name is what a user reads and can be more
 * precise (a SCHEDULED run may be `AwaitingConcurrencySlot`, a FAILED one `TimedOut`).
 * FAILED means the flow's own code failed; CRASHED means the infrastructure did.
 */
export const STATE_TYPES = [
  "SCHEDULED",
  "PENDING",
  "RUNNING",
  "COMPLETED",
  "FAILED",
  "CRASHED",
  "CANCELLING",
  "CANCELLED",
] as const;
export type StateType = (typeof STATE_TYPES)[number];

/** Named sub-states, each belonging to one type. The plain name of a type is its capitalised form. */
export const STATE_NAMES = {
  Scheduled: "SCHEDULED",
  AwaitingConcurrencySlot: "SCHEDULED",
  /** Not started a grace period (the deployment's late_after_seconds) after its expected start: Prefect's "Late". */
  Late: "SCHEDULED",
  /** A FAILED (or, with retry_on_crash, CRASHED) attempt with retries left: the same run starts again at next_attempt_at. Prefect's name. */
  AwaitingRetry: "SCHEDULED",
  Pending: "PENDING",
  Submitting: "PENDING",
  InfrastructurePending: "PENDING",
  Running: "RUNNING",
  Completed: "COMPLETED",
  Failed: "FAILED",
  Crashed: "CRASHED",
  TimedOut: "CRASHED",
  Cancelling: "CANCELLING",
  Cancelled: "CANCELLED",
} as const satisfies Record<string, StateType>;
export type StateName = keyof typeof STATE_NAMES;

export const TERMINAL_STATE_TYPES: ReadonlySet<StateType> = new Set(["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]);

export function isTerminal(type: StateType): boolean {
  return TERMINAL_STATE_TYPES.has(type);
}

export function isStateType(value: unknown): value is StateType {
  return typeof value === "string" && (STATE_TYPES as readonly string[]).includes(value);
}

export function defaultStateName(type: StateType): StateName {
  return (type.charAt(0) + type.slice(1).toLowerCase()) as StateName;
}

/**
 * Which state types may follow which. A run can end without ever being seen RUNNING (a task that
 * finishes between two observations), so PENDING may go straight to a terminal state. Terminal states
 * have no successors.
 */
const TRANSITIONS: Record<StateType, readonly StateType[]> = {
  SCHEDULED: ["SCHEDULED", "PENDING", "CANCELLED", "CRASHED"],
  PENDING: ["PENDING", "RUNNING", "COMPLETED", "FAILED", "CRASHED", "CANCELLING", "CANCELLED"],
  RUNNING: ["RUNNING", "COMPLETED", "FAILED", "CRASHED", "CANCELLING"],
  CANCELLING: ["CANCELLED", "COMPLETED", "FAILED", "CRASHED"],
  COMPLETED: [],
  FAILED: [],
  CRASHED: [],
  CANCELLED: [],
};

/**
 * Back to SCHEDULED from a started run is a retry and nothing else: only the name AwaitingRetry may
 * take a PENDING or RUNNING run there (the server decides it, see `retryAfterEnd`).
 */
const RETRY_FROM: ReadonlySet<StateType> = new Set(["PENDING", "RUNNING"]);

export function canTransition(from: StateType, to: StateType, toName?: StateName): boolean {
  if (to === "SCHEDULED" && toName === "AwaitingRetry") return RETRY_FROM.has(from);
  return TRANSITIONS[from].includes(to);
}

export interface StateChange {
  type: StateType;
  name: StateName;
  message: string | null;
}

/** Builds a validated state change; a name that does not belong to the type is a programming error. */
export function stateChange(type: StateType, options: { name?: StateName; message?: string | null } = {}): StateChange {
  const name = options.name ?? defaultStateName(type);
  if (STATE_NAMES[name] !== type) {
    throw new FerryError("validation_failed", `state name '${name}' belongs to ${STATE_NAMES[name]}, not ${type}`);
  }
  return { type, name, message: options.message ?? null };
}

/** Throws `invalid_transition` with a message a user can act on when `to` may not follow `from`. */
export function assertTransition(runId: string, from: StateType, to: StateType, toName?: StateName): void {
  if (canTransition(from, to, toName)) return;
  const why = isTerminal(from)
    ? `it is already ${from}, a final state`
    : `${to} cannot follow ${from} (allowed next: ${TRANSITIONS[from].join(", ")})`;
  throw new FerryError("invalid_transition", `flow run ${runId} cannot move to ${to}: ${why}`, {
    details: { from, to },
  });
}
