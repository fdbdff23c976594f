import type { FlowRun, FlowRunEvent, LogLine, StateHistoryEntry } from "@ferry/core/browser";

/**
 * The pure side of following a run: event ids are the store's sequence numbers (decimal strings, up to
 * 2^63), compared as BigInt. A stream reopened by the page (not by the browser, which resends
 * Last-Event-ID itself) starts from the first event again; whatever was already seen is skipped.
 */
export function isAfter(id: string, last: string | null): boolean {
  if (last === null) return true;
  try {
    return BigInt(id) > BigInt(last);
  } catch {
    return id !== last;
  }
}

export interface RunEvents {
  /** The id of the last event taken in; null before the first. */
  lastId: string | null;
  logs: LogLine[];
  states: StateHistoryEntry[];
}

export const emptyRunEvents = (): RunEvents => ({ lastId: null, logs: [], states: [] });

/**
 * Takes a batch of events in: those at or before `lastId` are dropped (a reopened stream's repeats),
 * the rest appended in order. Returns the same object when nothing was new, so React skips a render.
 */
export function mergeEvents(current: RunEvents, batch: FlowRunEvent[]): RunEvents {
  let lastId = current.lastId;
  const logs: LogLine[] = [];
  const states: StateHistoryEntry[] = [];
  for (const event of batch) {
    if (!isAfter(event.id, lastId)) continue;
    lastId = event.id;
    if (event.kind === "log") logs.push(event.log);
    else states.push(event.state);
  }
  if (lastId === current.lastId) return current;
  return {
    lastId,
    logs: logs.length ? current.logs.concat(logs) : current.logs,
    states: states.length ? current.states.concat(states) : current.states,
  };
}

/** The history with states from the stream added (by id, oldest first). */
export function mergeHistory(history: StateHistoryEntry[], streamed: StateHistoryEntry[]): StateHistoryEntry[] {
  if (streamed.length === 0) return history;
  const seen = new Set(history.map((h) => h.id));
  const out = history.concat(streamed.filter((s) => !seen.has(s.id)));
  return out.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : isAfter(a.id, b.id) ? 1 : -1));
}

/** A run with the newest state it is known to have (a streamed state newer than the fetched run wins). */
export function withLatestState(run: FlowRun, states: StateHistoryEntry[]): FlowRun {
  const last = states.at(-1);
  if (!last || last.timestamp < run.state.timestamp) return run;
  const { id: _id, ...state } = last;
  return { ...run, state };
}

/** One log line as a text file has it. */
export function logLineText(line: LogLine): string {
  return `${line.timestamp} ${line.level.toUpperCase().padEnd(8)} [${line.source}] ${line.message}`;
}

export type LogPageFetcher = (cursor: string | undefined) => Promise<{ items: LogLine[]; next_cursor: string | null }>;

/** The whole log, page by page (the download), as the text of a `.log` file. */
export async function assembleLog(fetchPage: LogPageFetcher, maxPages = 10_000): Promise<string> {
  const parts: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await fetchPage(cursor);
    for (const line of page.items) parts.push(logLineText(line));
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return parts.length ? `${parts.join("\n")}\n` : "";
}

/** A file name for the log: the run's name with anything a file system may refuse replaced. */
export function logFileName(runName: string): string {
  const safe = runName.replace(/[^\w.-]+/g, "-").replace(/^[-.]+|-+$/g, "");
  return `${safe || "run"}.log`;
}
