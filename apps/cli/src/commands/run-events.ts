import { isTerminal, type FerryClient, type FlowRun, type FlowRunEvent, type LogLine } from "@ferry/core";
import type { CommandContext } from "../context.js";
import { clockTime, stateLabel } from "../format.js";
import type { Colors } from "../output.js";

const LEVEL_COLOR: Record<LogLine["level"], keyof Colors> = {
  debug: "gray",
  info: "blue",
  warning: "yellow",
  error: "red",
  critical: "red",
};

export function renderLogLine(log: LogLine, colors: Colors): string {
  const paint = colors[LEVEL_COLOR[log.level]] as (text: string) => string;
  const source = log.source === "flow" ? "" : `${colors.dim(`[${log.source}]`)} `;
  return `${colors.dim(clockTime(log.timestamp))}  ${paint(log.level.toUpperCase().padEnd(8))} ${source}${log.message}`;
}

export function renderEvent(event: FlowRunEvent, colors: Colors): string {
  if (event.kind === "log") return renderLogLine(event.log, colors);
  const { state } = event;
  return `${colors.dim(clockTime(state.timestamp))}  ${colors.bold("STATE".padEnd(8))} ${stateLabel(state, colors)}${state.message ? `  ${colors.dim(state.message)}` : ""}`;
}

export interface FollowOptions {
  /** What to print as it happens: states and logs, only logs, or nothing (the caller prints the result). */
  print: "all" | "logs" | "none";
  /** Print each event as a JSON line instead of text. */
  jsonLines?: boolean;
  /** Log line ids already printed (by a page fetched before following). */
  seen?: Set<string>;
  lastEventId?: string;
  /** Stop following after this many seconds (the run goes on) and resolve `timedOut`. */
  timeoutSeconds?: number;
}

/**
 * Prints a run's events until its final state. Ctrl+C stops following (the run goes on) and resolves
 * `interrupted`. Returns the run as it is at the end.
 */
export async function followAndPrint(
  ctx: CommandContext,
  client: FerryClient,
  runId: string,
  options: FollowOptions,
): Promise<{ run: FlowRun; interrupted: boolean; timedOut: boolean }> {
  const abort = new AbortController();
  const { signal, dispose } = ctx.io.nextSignal();
  let interrupted = false;
  let timedOut = false;
  void signal.then(() => {
    interrupted = true;
    abort.abort();
  });
  const timer =
    options.timeoutSeconds === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          abort.abort();
        }, options.timeoutSeconds * 1000);
  const seen = options.seen ?? new Set<string>();
  try {
    for await (const event of client.followRun(runId, { signal: abort.signal, lastEventId: options.lastEventId })) {
      const terminal = event.kind === "state" && isTerminal(event.state.type);
      if (event.kind === "log") {
        if (seen.has(event.log.id)) continue;
        seen.add(event.log.id);
      }
      const shown = options.print === "all" || (options.print === "logs" && event.kind === "log");
      if (!shown) {
        if (terminal) break;
        continue;
      }
      if (options.jsonLines) ctx.io.stdout.write(`${JSON.stringify(event.kind === "log" ? event.log : event)}\n`);
      else ctx.out.line(renderEvent(event, ctx.out.colors));
      if (terminal) break;
    }
  } finally {
    dispose();
    clearTimeout(timer);
  }
  const run = await client.api.getFlowRun({ params: { id: runId } });
  return { run, interrupted, timedOut: timedOut && !interrupted };
}
