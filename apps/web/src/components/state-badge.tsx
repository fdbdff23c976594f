import type { State, StateType } from "@ferry/core/browser";
import clsx from "clsx";

/** Colour per state type: text and background pairs that pass contrast in both themes. */
export const STATE_TONES: Record<StateType, string> = {
  SCHEDULED: "bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-100",
  PENDING: "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-50",
  RUNNING: "bg-blue-100 text-blue-900 dark:bg-blue-900 dark:text-blue-50",
  COMPLETED: "bg-green-100 text-green-900 dark:bg-green-900 dark:text-green-50",
  FAILED: "bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-50",
  CRASHED: "bg-orange-100 text-orange-900 dark:bg-orange-900 dark:text-orange-50",
  CANCELLING: "bg-purple-100 text-purple-900 dark:bg-purple-900 dark:text-purple-50",
  CANCELLED: "bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100",
};

/** "AwaitingConcurrencySlot" → "Awaiting concurrency slot"; "Running" stays "Running". */
export function stateLabel(name: string): string {
  const words = name.replace(/([a-z])([A-Z])/g, "$1 $2").split(" ");
  return words.map((word, i) => (i === 0 ? word : word.toLowerCase())).join(" ");
}

/** A run's state: its name in words, coloured by its type. Pass a testId for the run page's `run-state`. */
export function StateBadge({ state, testId }: { state: Pick<State, "type" | "name">; testId?: string }) {
  return (
    <span
      data-testid={testId}
      data-state-type={state.type}
      className={clsx("inline-block rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap", STATE_TONES[state.type])}
    >
      {stateLabel(state.name)}
    </span>
  );
}

/** A pool's status: paused or ready. */
export function PoolStatus({ paused }: { paused: boolean }) {
  return (
    <span
      className={clsx(
        "inline-block rounded-full px-2 py-0.5 text-xs font-medium",
        paused ? "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-50" : "bg-green-100 text-green-900 dark:bg-green-900 dark:text-green-50",
      )}
    >
      {paused ? "Paused" : "Ready"}
    </span>
  );
}
