import { isTerminal, type FerryClient, type FlowRun, type LogLine } from "@ferry/core";

export interface WatchOptions {
  /** Seconds; null = wait as long as the run takes. */
  timeoutSeconds: number | null;
  /** Called with each log line as it arrives. */
  onLog: (line: LogLine) => void;
  /** How many of the last log lines to keep for the summary. */
  keepLines?: number;
}

export interface WatchResult {
  run: FlowRun;
  /** True when the timeout ran out first; the run was then cancelled. */
  timedOut: boolean;
  lastLines: LogLine[];
}

/**
 * Follows a run to its final state, streaming its logs. When the timeout runs out first, the run is
 * cancelled (a step that gives up must not leave compute running) and its state after that returned.
 */
export async function watchRun(client: FerryClient, id: string, options: WatchOptions): Promise<WatchResult> {
  const keep = options.keepLines ?? 30;
  const lastLines: LogLine[] = [];
  const controller = new AbortController();
  let timedOut = false;
  const timer =
    options.timeoutSeconds === null
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, options.timeoutSeconds * 1000);
  try {
    for await (const event of client.followRun(id, { signal: controller.signal })) {
      if (event.kind === "log") {
        options.onLog(event.log);
        lastLines.push(event.log);
        if (lastLines.length > keep) lastLines.shift();
      } else if (isTerminal(event.state.type)) {
        break;
      }
    }
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) {
    await client.api.cancelFlowRun({ params: { id }, body: { reason: `the GitHub Actions step timed out after ${options.timeoutSeconds} s` } });
  }
  return { run: await client.api.getFlowRun({ params: { id } }), timedOut, lastLines };
}

/** The run's address on the server (it has no web UI): the API's flow-run resource. */

/** `1m 05s`, `12s`, or `–` when the run never started. */
export function formatDuration(run: Pick<FlowRun, "start_time" | "end_time">): string {
  if (!run.start_time) return "–";
  const ms = Date.parse(run.end_time ?? new Date().toISOString()) - Date.parse(run.start_time);
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}
