import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider, createMemoryHistory, createRouter } from "@tanstack/react-router";
import type { FlowRun, FlowRunEvent, LogLine, StateHistoryEntry } from "@ferry/core/browser";

/**
 * The runs list and the run page with the real router, query client and FerryClient; only the network
 * is replaced: fetch answers like the server's routes, and EventSource is a stand-in the test drives
 * (jsdom has none), so the page's handling of the streams (order, dedupe on reopen, end) is what runs.
 */
const RUN_ID = "11111111-0000-4000-8000-000000000001";
const RERUN_ID = "11111111-0000-4000-8000-0000000000aa";
const session = {
  workspace: {
    id: "3f1c6a5e-0000-4000-8000-000000000001", name: "acme", tier: "free",
    limits: { managed_pools: 1, concurrent_managed_runs: 1, compute_hours_per_month: 10, memory_mib: 2048, max_runtime_seconds: 86400, cpus: 1 },
    limits_override: {}, created_at: "2026-12-01T00:00:00Z",
  },
  csrf_token: "csrf-1",
  expires_at: "2026-12-05T00:00:00Z",
};
const T0 = "2026-12-04T10:00:00.000Z";
const state = (type: FlowRun["state"]["type"], name: FlowRun["state"]["name"], timestamp: string, message: string | null = null) => ({ type, name, message, timestamp });
function makeRun(patch: Partial<FlowRun> = {}): FlowRun {
  return {
    id: RUN_ID, name: "brave-otter", deployment_id: "22222222-0000-4000-8000-000000000002", deployment_name: "nightly", flow_name: "etl",
    work_pool: "managed-pool", work_pool_type: "ferry:managed", state: state("RUNNING", "Running", "2026-12-04T10:00:02.000Z"),
    parameters: { day: "2026-12-04" }, job_variables: { pip_packages: ["pandas"] }, job_configuration: null, infrastructure_id: "proc-42",
    idempotency_key: null, tags: [], created_at: T0, updated_at: T0, expected_start_time: null, start_time: "2026-12-04T10:00:02.000Z", end_time: null, compute_seconds: 12,
    retries: 0, retry_delay_seconds: 0, retry_on_crash: false, attempt: 1, next_attempt_at: null, source_commit: null, rerun_of: null,
    ...patch,
  };
}
let run: FlowRun;
let runs: FlowRun[];
const history: StateHistoryEntry[] = [
  { id: "h1", ...state("SCHEDULED", "Scheduled", T0) },
  { id: "h2", ...state("PENDING", "Pending", "2026-12-04T10:00:01.000Z") },
  { id: "h3", ...state("RUNNING", "Running", "2026-12-04T10:00:02.000Z") },
];
const requests: Array<{ method: string; path: string; query: URLSearchParams; csrf: string | null }> = [];
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

async function fakeServer(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const url = new URL(String(input));
  const method = init?.method ?? "GET";
  requests.push({ method, path: url.pathname, query: url.searchParams, csrf: new Headers(init?.headers).get("x-csrf-token") });
  const p = url.pathname;
  if (p === "/api/session") return json(200, session);
  if (p === `/api/flow-runs/${RUN_ID}` && method === "GET") return json(200, run);
  if (p === `/api/flow-runs/${RUN_ID}/history`) return json(200, { items: history });
  if (p === `/api/flow-runs/${RUN_ID}/cancel` && method === "POST") {
    run = makeRun({ state: state("CANCELLING", "Cancelling", "2026-12-04T10:00:05.000Z", "Cancelled from the web UI") });
    return json(200, run);
  }
  if (p === `/api/flow-runs/${RUN_ID}/retry` && method === "POST") {
    return json(201, { flow_run: makeRun({ id: RERUN_ID, name: "second-try", rerun_of: RUN_ID, state: state("SCHEDULED", "Scheduled", T0) }), created: true });
  }
  if (p === `/api/flow-runs/${RERUN_ID}` && method === "GET") {
    return json(200, makeRun({ id: RERUN_ID, name: "second-try", rerun_of: RUN_ID, source_commit: "0123456789abcdef", state: state("SCHEDULED", "Scheduled", T0) }));
  }
  if (p === "/api/flow-runs") {
    const cursor = url.searchParams.get("cursor");
    return json(200, cursor === "page2" ? { items: runs.slice(1), next_cursor: null } : { items: runs.slice(0, 1), next_cursor: runs.length > 1 ? "page2" : null });
  }
  return json(200, { items: [], next_cursor: null });
}

/** What jsdom lacks: an EventSource the test feeds. Every instance is kept, to check which are open. */
class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static all: FakeEventSource[] = [];
  readyState = FakeEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private listeners = new Map<string, Array<(e: MessageEvent<string>) => void>>();
  constructor(readonly url: string) {
    FakeEventSource.all.push(this);
  }
  addEventListener(type: string, fn: (e: MessageEvent<string>) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
  }
  open() {
    this.readyState = FakeEventSource.OPEN;
    act(() => this.onopen?.());
  }
  emit(type: string, data: unknown, id?: string) {
    const event = new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id ?? "" });
    act(() => this.listeners.get(type)?.forEach((fn) => fn(event)));
  }
  /** The server went away for good (e.g. answered an error): the browser stops reconnecting. */
  fail() {
    this.readyState = FakeEventSource.CLOSED;
    act(() => this.onerror?.());
  }
  static latest(path: string): FakeEventSource {
    const found = FakeEventSource.all.filter((s) => s.url === path).at(-1);
    if (!found) throw new Error(`no EventSource on ${path}`);
    return found;
  }
}

const line = (id: number, message: string, level: LogLine["level"] = "info"): FlowRunEvent => ({
  kind: "log", id: String(id), flow_run_id: RUN_ID,
  log: { id: String(id), flow_run_id: RUN_ID, level, message, timestamp: `2026-12-04T10:00:${String(10 + (id % 40)).padStart(2, "0")}.000Z`, source: "flow" },
});

beforeEach(() => {
  run = makeRun();
  runs = [run];
  requests.length = 0;
  FakeEventSource.all = [];
  vi.stubGlobal("fetch", fakeServer);
  vi.stubGlobal("EventSource", FakeEventSource);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.resetModules();
});

async function renderAt(path: string) {
  const { routeTree } = await import("../src/router.js");
  const { queryClient } = await import("../src/api/query-client.js");
  const router = createRouter({ routeTree, history: createMemoryHistory({ initialEntries: [path] }) });
  render(
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

const eventsPath = `/api/flow-runs/${RUN_ID}/events`;
const logRegion = () => screen.getByRole("log", { name: "Logs" });
const logText = () => [...logRegion().querySelectorAll("div")].map((d) => d.textContent ?? "");

describe("the run page", () => {
  it("shows the run, its timeline and live logs, moves the state live and closes the stream at the end", async () => {
    await renderAt(`/runs/${RUN_ID}`);
    expect(await screen.findByRole("heading", { name: "brave-otter" })).toBeTruthy();
    expect(screen.getByTestId("run-state").textContent).toBe("Running");
    expect(screen.getByRole("link", { name: "etl/nightly" }).getAttribute("href")).toBe(`/deployments/${run.deployment_id}`);
    expect(screen.getByText("12 s")).toBeTruthy(); // compute time of a managed run
    expect(screen.getByText("proc-42")).toBeTruthy();
    const timeline = await screen.findByRole("list", { name: "State timeline" });
    await waitFor(() => expect(within(timeline).getAllByRole("listitem")).toHaveLength(3));

    const stream = FakeEventSource.latest(eventsPath);
    stream.open();
    stream.emit("log", line(4, "hello from the flow"), "4");
    stream.emit("log", line(5, "a warning", "warning"), "5");
    await waitFor(() => expect(logText()).toHaveLength(2));
    expect(logText()[0]).toContain("hello from the flow");

    // Level filter and search.
    await userEvent.selectOptions(screen.getByLabelText("Level"), "warning");
    expect(logText()).toHaveLength(1);
    await userEvent.selectOptions(screen.getByLabelText("Level"), "debug");
    await userEvent.type(screen.getByLabelText("Search logs"), "HELLO");
    expect(logText()).toHaveLength(1);
    expect(logRegion().querySelector("mark")?.textContent).toBe("hello");
    await userEvent.clear(screen.getByLabelText("Search logs"));

    run = makeRun({ state: state("COMPLETED", "Completed", "2026-12-04T10:00:09.000Z"), end_time: "2026-12-04T10:00:09.000Z", result: { rows: 3 } });
    stream.emit("state", { kind: "state", id: "6", flow_run_id: RUN_ID, state: { id: "h4", ...run.state } }, "6");
    await waitFor(() => expect(screen.getByTestId("run-state").textContent).toBe("Completed"));
    await waitFor(() => expect(within(timeline).getAllByRole("listitem")).toHaveLength(4));
    stream.emit("end", {});
    expect(stream.readyState).toBe(FakeEventSource.CLOSED);
    expect(await screen.findByRole("region", { name: "Result" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Cancel run" })).toBeNull();
  });

  it("reopens a stream the browser gave up on and shows no line twice", async () => {
    await renderAt(`/runs/${RUN_ID}`);
    await screen.findByRole("heading", { name: "brave-otter" });
    const first = FakeEventSource.latest(eventsPath);
    first.open();
    first.emit("log", line(1, "one"), "1");
    first.emit("log", line(2, "two"), "2");
    await waitFor(() => expect(logText()).toHaveLength(2));
    first.fail();
    await waitFor(() => expect(FakeEventSource.all.filter((s) => s.url === eventsPath)).toHaveLength(2), { timeout: 5_000 });
    const second = FakeEventSource.latest(eventsPath);
    second.open();
    // A new EventSource has no Last-Event-ID: the server starts from the first event again.
    for (const [id, text] of [[1, "one"], [2, "two"], [3, "three"]] as const) second.emit("log", line(id, text), String(id));
    await waitFor(() => expect(logText()).toHaveLength(3));
    expect(logText().map((t) => t.replace(/^.*info/, ""))).toEqual(["one", "two", "three"]);
  });

  it("renders the last 1000 of 10,000 lines and shows earlier ones on demand", async () => {
    await renderAt(`/runs/${RUN_ID}`);
    await screen.findByRole("heading", { name: "brave-otter" });
    const stream = FakeEventSource.latest(eventsPath);
    stream.open();
    act(() => {
      for (let i = 1; i <= 10_000; i++) stream.emit("log", line(i, `line ${i}`), String(i));
    });
    await waitFor(() => expect(logText()).toHaveLength(1000));
    expect(logText().at(-1)).toContain("line 10000");
    expect(screen.getByText("10000 lines", { exact: false })).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "Show earlier lines (9000 hidden)" }));
    expect(logText()).toHaveLength(2000);
  }, 30_000);

  it("cancels after confirmation, sending the CSRF token, and shows Cancelling", async () => {
    await renderAt(`/runs/${RUN_ID}`);
    await userEvent.click(await screen.findByRole("button", { name: "Cancel run" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(within(dialog).getByRole("button", { name: "Keep running" })).toBeTruthy();
    await userEvent.click(within(dialog).getByRole("button", { name: "Cancel the run" }));
    await waitFor(() => expect(screen.getByTestId("run-state").textContent).toBe("Cancelling"));
    const cancel = requests.find((r) => r.method === "POST" && r.path.endsWith("/cancel"));
    expect(cancel?.csrf).toBe("csrf-1");
    expect(screen.queryByRole("alertdialog")).toBeNull();
  });

  it("offers no re-run of a run in progress", async () => {
    await renderAt(`/runs/${RUN_ID}`);
    await screen.findByRole("heading", { name: "brave-otter" });
    expect(screen.getByRole("button", { name: "Cancel run" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Run again" })).toBeNull();
  });

  it("runs a finished run again as a new run and opens its page", async () => {
    run = makeRun({ state: state("FAILED", "Failed", "2026-12-04T10:00:03.000Z", "boom"), end_time: "2026-12-04T10:00:03.000Z", retries: 2, attempt: 3 });
    const router = await renderAt(`/runs/${RUN_ID}`);
    await screen.findByRole("heading", { name: "brave-otter" });
    expect(screen.getByText("3 of 3")).toBeTruthy(); // its attempts
    await userEvent.click(screen.getByRole("button", { name: "Run again" }));
    expect(await screen.findByRole("heading", { name: "second-try" })).toBeTruthy();
    expect(router.state.location.pathname).toBe(`/runs/${RERUN_ID}`);
    const retry = requests.find((r) => r.method === "POST" && r.path.endsWith("/retry"));
    expect(retry?.csrf).toBe("csrf-1");
    expect(screen.getByRole("link", { name: RUN_ID.slice(0, 8) }).getAttribute("href")).toBe(`/runs/${RUN_ID}`);
    expect(screen.getByText("0123456789ab")).toBeTruthy();
  });

  it("says why a crashed run ended at the top, in plain words", async () => {
    run = makeRun({ state: state("CRASHED", "Crashed", "2026-12-04T10:00:03.000Z", "the container exited with code 137 (out of memory)"), end_time: "2026-12-04T10:00:03.000Z" });
    await renderAt(`/runs/${RUN_ID}`);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("This run crashed");
    expect(alert.textContent).toContain("out of memory");
  });
});

describe("the runs list", () => {
  it("reads its filters from the URL, pages by cursor and updates rows from the workspace's events", async () => {
    const second = makeRun({ id: "11111111-0000-4000-8000-000000000009", name: "calm-heron", state: state("COMPLETED", "Completed", T0) });
    runs = [run, second];
    await renderAt("/runs?state=RUNNING,COMPLETED&since=1d");
    const table = await screen.findByRole("table", { name: "Flow runs" });
    expect(within(table).getByRole("link", { name: "brave-otter" }).getAttribute("href")).toBe(`/runs/${RUN_ID}`);
    const list = requests.find((r) => r.path === "/api/flow-runs")!;
    expect(list.query.get("state")).toBe("RUNNING,COMPLETED");
    expect(Date.now() - Date.parse(list.query.get("created_after")!)).toBeGreaterThan(86_000_000);
    expect((screen.getByLabelText("Running") as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText("Created") as HTMLSelectElement).value).toBe("1d");

    await userEvent.click(screen.getByRole("button", { name: "Load more" }));
    expect(await within(table).findByRole("link", { name: "calm-heron" })).toBeTruthy();
    expect(requests.filter((r) => r.path === "/api/flow-runs").at(-1)?.query.get("cursor")).toBe("page2");

    const events = FakeEventSource.latest("/api/events");
    events.open();
    expect(screen.getByText("Live")).toBeTruthy();
    events.emit("run", { ...run, state: state("FAILED", "Failed", "2026-12-04T10:01:00.000Z", "boom") });
    await waitFor(() => expect(within(table).getAllByText("Failed")).toHaveLength(1));
    events.fail();
    expect(await screen.findByText("Refreshing every 10 s")).toBeTruthy();
  });

  it("puts a state filter into the URL", async () => {
    const router = await renderAt("/runs");
    await screen.findByRole("table", { name: "Flow runs" });
    await userEvent.click(screen.getByLabelText("Crashed"));
    await userEvent.click(screen.getByLabelText("Failed"));
    await waitFor(() => expect(router.state.location.search).toEqual({ state: "FAILED,CRASHED" }));
  });

  it("says how to start a run when there is none", async () => {
    runs = [];
    await renderAt("/runs");
    expect(await screen.findByText("No flow runs yet")).toBeTruthy();
    expect(screen.getByText("ferry deployment run <flow>/<deployment>")).toBeTruthy();
  });
});
