import { flowRunUiUrl, type FlowRun, type FlowRunEvent, type LogLine, type StateHistoryEntry } from "@ferry/core";
import { stateLabel } from "./tree-model.js";

/** `HH:MM:SS` of an ISO timestamp, in UTC so lines from different machines line up. */
function clock(iso: string): string {
  return iso.slice(11, 19);
}

/** Level names a flow's own logging puts first (Python's `INFO etl: …`), by the level the line has. */
const LEVEL_PREFIX = /^(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)(?::\s*|\s+)/;
const PREFIX_LEVEL: Record<string, LogLine["level"]> = { DEBUG: "debug", INFO: "info", WARNING: "warning", WARN: "warning", ERROR: "error", CRITICAL: "critical", FATAL: "critical" };

/**
 * The message without a leading level name that only repeats the line's level: the engine takes a
 * Python record's level from that name, and the channel shows the level once, in its own column.
 */
export function messageWithoutLevel(log: Pick<LogLine, "level" | "message">): string {
  const prefix = LEVEL_PREFIX.exec(log.message);
  return prefix && PREFIX_LEVEL[prefix[1]!] === log.level ? log.message.slice(prefix[0].length) : log.message;
}

/** One log line as the output channel shows it: `12:00:01 INFO    [flow] message`. */
export function formatLog(log: LogLine): string {
  const level = log.level.toUpperCase().padEnd(8);
  return `${clock(log.timestamp)} ${level}[${log.source}] ${messageWithoutLevel(log)}`;
}

/** A state change as the output channel shows it: `12:00:01 ── RUNNING ──`, with the state's message. */
export function formatState(state: StateHistoryEntry): string {
  return `${clock(state.timestamp)} ── ${stateLabel(state)} ──${state.message ? ` ${state.message}` : ""}`;
}

export function formatEvent(event: FlowRunEvent): string {
  return event.kind === "log" ? formatLog(event.log) : formatState(event.state);
}

/** The first lines of a run's output channel. */
export function runHeader(run: FlowRun): string[] {
  const params = Object.keys(run.parameters).length ? JSON.stringify(run.parameters) : "none";
  return [
    `Flow run ${run.name} (${run.id})`,
    `Deployment ${run.flow_name}/${run.deployment_name} on work pool ${run.work_pool} (${run.work_pool_type})`,
    `Parameters: ${params}`,
    "",
  ];
}

/** The notification when a run the user started ends. */
export function endMessage(run: FlowRun): { text: string; severity: "info" | "warning" | "error" } {
  const label = `${run.flow_name}/${run.deployment_name} (${run.name})`;
  const why = run.state.message ? `: ${run.state.message}` : "";
  switch (run.state.type) {
    case "COMPLETED":
      return { text: `Ferry: ${label} COMPLETED.`, severity: "info" };
    case "CANCELLED":
      return { text: `Ferry: ${label} was CANCELLED${why}.`, severity: "warning" };
    default:
      return { text: `Ferry: ${label} ended ${stateLabel(run.state)}${why}.`, severity: "error" };
  }
}

/** What a run's notification offers, in order. */
export const RUN_ACTIONS = { logs: "Show Logs", browser: "Open in Browser" } as const;

/** The run's page in the web UI of the server the extension is signed in to. */
export function runPageUrl(apiUrl: string, run: Pick<FlowRun, "id">): string {
  return flowRunUiUrl(apiUrl, run.id);
}
