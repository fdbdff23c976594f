import { describe, expect, it } from "vitest";
import type { FlowRun, FlowRunEvent, LogLine, StateHistoryEntry } from "@ferry/core/browser";
import { parseRunsSearch, runsQuery, statesOf } from "./runs-search.js";
import { assembleLog, emptyRunEvents, isAfter, logFileName, logLineText, mergeEvents, mergeHistory, withLatestState } from "./run-events.js";
import { formatDuration, formatSeconds } from "../components/run-format.js";
import { filterLogLines, splitMatches } from "../components/log-lines.js";

const RUN = "00000000-0000-4000-8000-000000000001";
const log = (id: string, message = `line ${id}`, level: LogLine["level"] = "info"): LogLine => ({
  id,
  flow_run_id: RUN,
  level,
  message,
  timestamp: `2025-01-01T00:00:${id.padStart(2, "0").slice(-2)}.000Z`,
  source: "flow",
});
const logEvent = (id: string): FlowRunEvent => ({ kind: "log", id, flow_run_id: RUN, log: log(id) });
const state = (id: string, type: StateHistoryEntry["type"], name: StateHistoryEntry["name"], timestamp: string): StateHistoryEntry => ({ id, type, name, message: null, timestamp });

describe("the runs list's search params", () => {
  it("keeps known states, pool, deployment and a preset; drops the rest", () => {
    expect(parseRunsSearch({ state: "running,FAILED,bogus,RUNNING", pool: " p1 ", deployment: "d", since: "1d", other: "x" })).toEqual({
      state: "RUNNING,FAILED",
      pool: "p1",
      deployment: "d",
      since: "1d",
    });
    expect(parseRunsSearch({ state: ["PENDING", "CRASHED"] })).toEqual({ state: "PENDING,CRASHED" });
    expect(parseRunsSearch({ since: "3y", after: "2025-01-01T00:00:00Z", before: "not a date", pool: "" })).toEqual({ after: "2025-01-01T00:00:00.000Z" });
    expect(parseRunsSearch({ since: "1h", after: "2025-01-01T00:00:00Z" })).toEqual({ since: "1h" });
    expect(statesOf(undefined)).toEqual([]);
  });

  it("turns a search into the API's query, the page's fixed filter winning and presets relative to now", () => {
    const now = Date.parse("2025-06-01T12:00:00Z");
    expect(runsQuery({ state: "RUNNING,FAILED", pool: "a", since: "1h" }, {}, now)).toEqual({ state: "RUNNING,FAILED", work_pool: "a", created_after: "2025-06-01T11:00:00.000Z" });
    expect(runsQuery({ pool: "a", deployment: "x" }, { work_pool: "fixed" }, now)).toEqual({ work_pool: "fixed", deployment_id: "x" });
    expect(runsQuery({ after: "2025-01-01T00:00:00.000Z", before: "2025-02-01T00:00:00.000Z" }, { deployment_id: "d" }, now)).toEqual({
      deployment_id: "d",
      created_after: "2025-01-01T00:00:00.000Z",
      created_before: "2025-02-01T00:00:00.000Z",
    });
  });
});

describe("merging a run's events", () => {
  it("appends new events in order and skips what a reopened stream sends again", () => {
    let events = mergeEvents(emptyRunEvents(), [logEvent("1"), logEvent("2"), { kind: "state", id: "3", flow_run_id: RUN, state: state("s1", "RUNNING", "Running", "2025-01-01T00:00:03Z") }]);
    expect(events.lastId).toBe("3");
    // The stream was reopened: it starts over from the first event.
    events = mergeEvents(events, [logEvent("1"), logEvent("2"), { kind: "state", id: "3", flow_run_id: RUN, state: state("s1", "RUNNING", "Running", "2025-01-01T00:00:03Z") }, logEvent("4")]);
    expect(events.logs.map((l) => l.id)).toEqual(["1", "2", "4"]);
    expect(events.states.map((s) => s.id)).toEqual(["s1"]);
    expect(mergeEvents(events, [logEvent("2")])).toBe(events); // nothing new: same object, no render
  });

  it("compares ids as 64-bit numbers, not as text", () => {
    expect(isAfter("10", "9")).toBe(true);
    expect(isAfter("9223372036854775807", "9223372036854775806")).toBe(true);
    expect(isAfter("9", "10")).toBe(false);
    expect(isAfter("1", null)).toBe(true);
  });

  it("adds streamed states to the fetched history once, in time order, and the newest wins on the run", () => {
    const fetched = [state("a", "SCHEDULED", "Scheduled", "2025-01-01T00:00:00.000Z"), state("b", "PENDING", "Pending", "2025-01-01T00:00:01.000Z")];
    const streamed = [fetched[1]!, state("c", "RUNNING", "Running", "2025-01-01T00:00:02.000Z")];
    expect(mergeHistory(fetched, streamed).map((s) => s.id)).toEqual(["a", "b", "c"]);
    const run = { id: RUN, state: { type: "PENDING", name: "Pending", message: null, timestamp: "2025-01-01T00:00:01.000Z" } } as FlowRun;
    expect(withLatestState(run, streamed).state).toEqual({ type: "RUNNING", name: "Running", message: null, timestamp: "2025-01-01T00:00:02.000Z" });
    expect(withLatestState(run, [fetched[0]!])).toBe(run); // an older streamed state does not undo a newer fetch
  });
});

describe("log lines", () => {
  const lines = [log("1", "Starting", "debug"), log("2", "Loading DATA from s", "info"), log("3", "data missing", "warning"), log("4", "boom", "error")];

  it("filters by minimum level and by text, case-insensitively", () => {
    expect(filterLogLines(lines, "debug", "")).toBe(lines);
    expect(filterLogLines(lines, "warning", "").map((l) => l.id)).toEqual(["3", "4"]);
    expect(filterLogLines(lines, "info", "data").map((l) => l.id)).toEqual(["2", "3"]);
  });

  it("splits a message around matches for highlighting", () => {
    expect(splitMatches("Data and data", "DATA")).toEqual([
      { text: "Data", match: true },
      { text: " and ", match: false },
      { text: "data", match: true },
    ]);
    expect(splitMatches("abc", "")).toEqual([{ text: "abc", match: false }]);
  });

  it("assembles the download from every page of the API, in order", async () => {
    const pages: Record<string, { items: LogLine[]; next_cursor: string | null }> = {
      start: { items: [log("1"), log("2")], next_cursor: "c1" },
      c1: { items: [log("3", "multi\nline")], next_cursor: "c2" },
      c2: { items: [], next_cursor: null },
    };
    const asked: (string | undefined)[] = [];
    const text = await assembleLog(async (cursor) => {
      asked.push(cursor);
      return pages[cursor ?? "start"]!;
    });
    expect(asked).toEqual([undefined, "c1", "c2"]);
    expect(text).toBe([logLineText(log("1")), logLineText(log("2")), logLineText(log("3", "multi\nline"))].join("\n") + "\n");
    expect(logLineText(log("1", "hi", "warning"))).toBe("2025-01-01T00:00:01.000Z WARNING  [flow] hi");
    expect(await assembleLog(async () => ({ items: [], next_cursor: null }))).toBe("");
  });

  it("names the file after the run", () => {
    expect(logFileName("brave-otter")).toBe("brave-otter.log");
    expect(logFileName("a/b c")).toBe("a-b-c.log");
    expect(logFileName("../")).toBe("run.log");
  });
});

describe("durations", () => {
  it("reads as people say them", () => {
    const t0 = "2025-01-01T00:00:00.000Z";
    expect(formatDuration(null, null)).toBe("—");
    expect(formatDuration(t0, "2025-01-01T00:00:01.250Z")).toBe("1.3 s");
    expect(formatDuration(t0, "2025-01-01T00:00:45.000Z")).toBe("45 s");
    expect(formatDuration(t0, "2025-01-01T00:03:05.000Z")).toBe("3 min 5 s");
    expect(formatDuration(t0, "2025-01-01T02:04:00.000Z")).toBe("2 h 4 min");
    expect(formatDuration(t0, null, Date.parse("2025-01-02T03:00:00.000Z"))).toBe("1 d 3 h");
    expect(formatSeconds(120)).toBe("2 min");
    expect(formatDuration(t0, "2024-12-31T00:00:00.000Z")).toBe("0 s");
  });
});
