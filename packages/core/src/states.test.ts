import { describe, expect, it } from "vitest";
import { FerryError } from "./errors.js";
import {
  STATE_NAMES,
  STATE_TYPES,
  TERMINAL_STATE_TYPES,
  assertTransition,
  canTransition,
  defaultStateName,
  isStateType,
  isTerminal,
  stateChange,
  type StateName,
  type StateType,
} from "./states.js";

function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FerryError);
    return error as FerryError;
  }
  throw new Error("expected a FerryError");
}

// Written out by hand rather than read from the module, so a change to the table must change this too.
const LEGAL: Record<StateType, StateType[]> = {
  SCHEDULED: ["SCHEDULED", "PENDING", "CANCELLED", "CRASHED"],
  PENDING: ["PENDING", "RUNNING", "COMPLETED", "FAILED", "CRASHED", "CANCELLING", "CANCELLED"],
  RUNNING: ["RUNNING", "COMPLETED", "FAILED", "CRASHED", "CANCELLING"],
  CANCELLING: ["CANCELLED", "COMPLETED", "FAILED", "CRASHED"],
  COMPLETED: [],
  FAILED: [],
  CRASHED: [],
  CANCELLED: [],
};

const ALL_PAIRS = STATE_TYPES.flatMap((from) => STATE_TYPES.map((to) => [from, to] as const));

describe("state types", () => {
  it("has exactly four terminal types", () => {
    expect([...TERMINAL_STATE_TYPES].sort()).toEqual(["CANCELLED", "COMPLETED", "CRASHED", "FAILED"]);
    expect(STATE_TYPES.filter(isTerminal)).toEqual(["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]);
  });

  it("recognises state types and nothing else", () => {
    for (const type of STATE_TYPES) expect(isStateType(type)).toBe(true);
    for (const value of ["running", "Running", "", "DONE", null, undefined, 1, {}]) expect(isStateType(value)).toBe(false);
  });

  it("gives every type a default name that belongs to it", () => {
    for (const type of STATE_TYPES) {
      const name = defaultStateName(type);
      expect(STATE_NAMES[name]).toBe(type);
    }
    expect(defaultStateName("CANCELLING")).toBe("Cancelling");
    expect(defaultStateName("SCHEDULED")).toBe("Scheduled");
  });
});

describe("canTransition", () => {
  it.each(ALL_PAIRS)("%s -> %s follows the table", (from, to) => {
    expect(canTransition(from, to)).toBe(LEGAL[from].includes(to));
  });

  it("allows no way out of a terminal state, not even to itself", () => {
    for (const from of TERMINAL_STATE_TYPES) {
      for (const to of STATE_TYPES) expect(canTransition(from, to)).toBe(false);
    }
  });

  it("lets a PENDING run end without being seen RUNNING", () => {
    expect(canTransition("PENDING", "COMPLETED")).toBe(true);
    expect(canTransition("PENDING", "FAILED")).toBe(true);
  });

  it("makes a RUNNING run go through CANCELLING to be cancelled", () => {
    expect(canTransition("RUNNING", "CANCELLED")).toBe(false);
    expect(canTransition("RUNNING", "CANCELLING")).toBe(true);
    expect(canTransition("CANCELLING", "CANCELLED")).toBe(true);
  });

  it("never goes back to SCHEDULED once submitted", () => {
    for (const from of ["PENDING", "RUNNING", "CANCELLING"] as const) expect(canTransition(from, "SCHEDULED")).toBe(false);
  });
});

describe("stateChange", () => {
  it("uses the type's plain name and a null message by default", () => {
    expect(stateChange("RUNNING")).toEqual({ type: "RUNNING", name: "Running", message: null });
  });

  it("accepts a sub-state name of the same type and keeps the message", () => {
    expect(stateChange("CRASHED", { name: "TimedOut", message: "ran longer than 86400 s" })).toEqual({
      type: "CRASHED",
      name: "TimedOut",
      message: "ran longer than 86400 s",
    });
    expect(stateChange("SCHEDULED", { name: "AwaitingConcurrencySlot" }).name).toBe("AwaitingConcurrencySlot");
  });

  it("turns an explicit null message into null", () => {
    expect(stateChange("PENDING", { name: "Submitting", message: null }).message).toBeNull();
  });

  it("rejects every name of another type, saying which type it belongs to", () => {
    for (const [name, owner] of Object.entries(STATE_NAMES) as [StateName, StateType][]) {
      for (const type of STATE_TYPES.filter((t) => t !== owner)) {
        const error = thrown(() => stateChange(type, { name }));
        expect(error.code).toBe("validation_failed");
        expect(error.message).toBe(`state name '${name}' belongs to ${owner}, not ${type}`);
      }
    }
  });
});

describe("assertTransition", () => {
  it.each(ALL_PAIRS.filter(([from, to]) => LEGAL[from].includes(to)))("accepts %s -> %s", (from, to) => {
    expect(() => assertTransition("run-1", from, to)).not.toThrow();
  });

  it("says a terminal state is final", () => {
    const error = thrown(() => assertTransition("0190-abc", "COMPLETED", "RUNNING"));
    expect(error.code).toBe("invalid_transition");
    expect(error.status).toBe(409);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe("flow run 0190-abc cannot move to RUNNING: it is already COMPLETED, a final state");
    expect(error.details).toEqual({ from: "COMPLETED", to: "RUNNING" });
  });

  it("lists the states that may follow a non-terminal one", () => {
    const error = thrown(() => assertTransition("r", "RUNNING", "SCHEDULED"));
    expect(error.message).toBe(
      "flow run r cannot move to SCHEDULED: SCHEDULED cannot follow RUNNING (allowed next: RUNNING, COMPLETED, FAILED, CRASHED, CANCELLING)",
    );
    expect(error.details).toEqual({ from: "RUNNING", to: "SCHEDULED" });
  });

  it("refuses every illegal pair with invalid_transition", () => {
    for (const [from, to] of ALL_PAIRS.filter(([f, t]) => !LEGAL[f].includes(t))) {
      const error = thrown(() => assertTransition("r", from, to));
      expect(error.code).toBe("invalid_transition");
      expect(error.message).toMatch(new RegExp(`^flow run r cannot move to ${to}: `));
      expect(error.message).toContain(isTerminal(from) ? `it is already ${from}, a final state` : `${to} cannot follow ${from}`);
    }
  });
});
