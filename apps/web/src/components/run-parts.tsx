import type { FlowRun, StateHistoryEntry } from "@ferry/core/browser";
import { StateBadge, stateLabel } from "./state-badge.js";
import { Time } from "./time.js";

/** Why a run ended badly, in plain words, at the top of its page; nothing for other states. */
export function EndReason({ run }: { run: FlowRun }) {
  const { type, message, name } = run.state;
  const what =
    type === "CRASHED"
      ? name === "TimedOut"
        ? "This run timed out."
        : "This run crashed: the infrastructure running it failed, not the flow's code."
      : type === "FAILED"
        ? "This run failed: the flow's code raised an error."
        : type === "CANCELLED"
          ? "This run was cancelled."
          : null;
  if (!what) return null;
  const tone =
    type === "CANCELLED"
      ? "border-slate-300 bg-slate-50 text-slate-900 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100"
      : "border-red-300 bg-red-50 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100";
  return (
    <div role="alert" className={`mb-6 rounded-md border px-4 py-3 text-sm ${tone}`}>
      <p className="font-medium">{what}</p>
      <p className="mt-1 whitespace-pre-wrap break-words">
        {message ? (type === "CANCELLED" ? `Reason: ${message}` : message) : type === "CANCELLED" ? "No reason was given." : "No reason was recorded; the logs below may say more."}
      </p>
    </div>
  );
}

/** Every state the run went through, oldest first, with when. */
export function StateTimeline({ history }: { history: StateHistoryEntry[] }) {
  if (history.length === 0) return <p className="text-sm text-slate-700 dark:text-slate-300">No states recorded yet.</p>;
  return (
    <ol className="space-y-2 border-l-2 border-slate-300 pl-4 dark:border-slate-700" aria-label="State timeline">
      {history.map((entry) => (
        <li key={entry.id} className="text-sm">
          <div className="flex flex-wrap items-center gap-2">
            <StateBadge state={entry} />
            <Time iso={entry.timestamp} />
          </div>
          {entry.message && (
            <p className="mt-1 whitespace-pre-wrap break-words text-slate-700 dark:text-slate-300">
              <span className="sr-only">{stateLabel(entry.name)}: </span>
              {entry.message}
            </p>
          )}
        </li>
      ))}
    </ol>
  );
}

/** JSON, pretty and read-only, scrolling sideways when long. */
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  const empty = value === null || value === undefined || (typeof value === "object" && Object.keys(value).length === 0);
  if (empty) return <p className="text-sm text-slate-700 dark:text-slate-300">None</p>;
  return (
    <pre role="group" aria-label={label} tabIndex={0} className="max-h-80 overflow-auto rounded-md bg-slate-50 p-3 font-mono text-xs dark:bg-slate-900">
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}
