import type { State, StateType } from "@ferry/core";
import type { Colors } from "./output.js";

/** A key or token as it may be shown: enough of the start to tell which it is, never enough to use it. */
export function maskSecret(value: string | null | undefined): string {
  if (!value) return "";
  return `${value.slice(0, Math.min(9, Math.floor(value.length / 4)))}****`;
}

/** `just now`, `42s ago`, `5m ago`, `3h ago`, `2d ago`, then the date. */
export function relativeTime(iso: string | null | undefined, now: Date): string {
  if (!iso) return "";
  const then = new Date(iso);
  const seconds = Math.round((now.getTime() - then.getTime()) / 1000);
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 0) return then.toISOString().slice(0, 19).replace("T", " ");
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  if (seconds < 14 * 86_400) return `${Math.floor(seconds / 86_400)}d ago`;
  return then.toISOString().slice(0, 10);
}

/** `850ms`, `12s`, `3m 05s`, `2h 03m`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Wall-clock time of an event, as HH:MM:SS in local time. */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

const STATE_COLOR: Record<StateType, keyof Colors> = {
  SCHEDULED: "cyan",
  PENDING: "yellow",
  RUNNING: "blue",
  COMPLETED: "green",
  FAILED: "red",
  CRASHED: "magenta",
  CANCELLING: "gray",
  CANCELLED: "gray",
};

/** A state as people read it: its precise name (`AwaitingConcurrencySlot`), coloured by its type. */
export function stateLabel(state: Pick<State, "type" | "name">, colors: Colors): string {
  const paint = colors[STATE_COLOR[state.type]] as (text: string) => string;
  return paint(state.name);
}

export function sourceLabel(source: { git_url: string; branch?: string | null; commit?: string | null }): string {
  const ref = source.commit ? source.commit.slice(0, 12) : source.branch;
  return ref ? `${source.git_url}@${ref}` : source.git_url;
}
