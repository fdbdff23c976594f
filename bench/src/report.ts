import { cpus, platform, arch, totalmem } from "node:os";
import type { CliOutcome } from "./cli-startup.js";
import type { ManagedFigures, ManagedOutcome } from "./managed-bench.js";
import type { ManagedRunFigures } from "./managed-figures.js";
import { PIP_REQUIREMENT } from "./managed-flows.js";
import type { BenchOptions, RunnerKind, StoreKind } from "./options.js";
import type { Distribution } from "./stats.js";
import type { StoreFigures } from "./store-bench.js";
import type { UiFigures, UiOutcome } from "./ui-bench.js";

export type StoreOutcome = StoreFigures | { store: StoreKind; skipped: string } | { store: StoreKind; failed: string };

export interface BenchReport {
  generatedAt: string;
  environment: { node: string; platform: string; cpus: number; cpuModel: string; memoryGiB: number };
  options: { runs: number; warmup: number; clients: number; stores: StoreKind[]; managed: boolean; runners: RunnerKind[]; handoffPairs: number; ui: boolean; uiRuns: number; uiLoads: number };
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

/** 20× Prefect's server (~50 runs/s, p99 2 s at 8 clients) and a CLI that answers before you notice. */
export const GOALS = { createToSubmitP99Ms: 20, runsPerSecond: 1000, cliMedianMs: 200 } as const;

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
      managed: options.managed,
      runners: options.runners,
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

const isMeasured = (s: StoreOutcome): s is StoreFigures => "createToSubmit" in s;

/** The report as a fixed-width table: one column per measured store, then the goal. */
export function formatReport(report: BenchReport): string {
  const { environment: env, options } = report;
  const lines = [
    `Ferry bench: ${options.runs} runs per store from ${options.clients} concurrent clients (after ${options.warmup} warm-up runs), instant fake provider`,
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

  // Rows: what, which figure, one cell per store, the goal.
  const rows: (string[] | null)[] = [["", "", ...measured.map((s) => s.store), "goal"]];
  const dist = (label: string, pick: (s: StoreFigures) => Distribution, keys: (keyof Distribution)[], goals: Partial<Record<keyof Distribution, string>> = {}) => {
    keys.forEach((k, i) => rows.push([i === 0 ? label : "", k, ...measured.map((s) => ms(pick(s)[k])), goals[k] ?? ""]));
  };
  dist("create → submit, ms", (s) => s.createToSubmit, ["p50", "p90", "p99", "max"], { p99: `< ${GOALS.createToSubmitP99Ms}` });
  dist("create call, ms", (s) => s.createCall, ["p50", "p99"]);
  dist("create → COMPLETED, ms", (s) => s.createToCompleted, ["p50", "p99"]);
  rows.push(null);
  for (const k of ["created", "dispatched", "completed"] as const) {
    rows.push([k === "created" ? "runs/s" : "", k, ...measured.map((s) => rate(s.perSecond[k])), k === "completed" ? "" : `${GOALS.runsPerSecond}`]);
  }
  rows.push(null);
  const count = (label: string, pick: (s: StoreFigures) => number | string, goal = "") => rows.push([label, "", ...measured.map((s) => String(pick(s))), goal]);
  count("create calls failed", (s) => s.createErrors, "0");
  count("runs never submitted", (s) => s.notSubmitted, "0");
  count("runs not COMPLETED", (s) => s.notCompleted, "0");
  count("server warnings logged", (s) => s.serverWarnings);
  count("server start, empty store, ms", (s) => s.startMs.toFixed(0));
  count("server start again, ms", (s) => s.restartMs.toFixed(0));
  count("server RSS idle, MiB", (s) => withStore(s.idleRssMiB, s.idleStoreRssMiB), "≤ 120");
  count("server PSS idle, MiB", (s) => (s.idlePssMiB === null ? "n/a" : s.idlePssMiB.toFixed(0)));
  count("server RSS at end, MiB", (s) => withStore(s.rssMiB, s.storeRssMiB));
  count("server PSS at end, MiB", (s) => (s.pssMiB === null ? "n/a" : s.pssMiB.toFixed(0)));
  const withCli = measured.find((s) => s.cli);
  if (withCli) {
    rows.push(null);
    withCli.cli!.forEach(({ command }, i) => {
      rows.push([command, "median / p90 ms", ...measured.map((s) => cliCell(s.cli?.[i])), `< ${GOALS.cliMedianMs}`]);
    });
  }
  lines.push(...table(rows));

  for (const s of measured) {
    const notes: string[] = [];
    if (s.createErrors) notes.push(`${s.createErrors} create calls failed, e.g. ${s.createErrorMessages[0]}`);
    if (s.notCompleted) notes.push(`${s.notCompleted} runs were not COMPLETED in time; the others were ${JSON.stringify(s.notCompletedByState)}`);
    for (const w of s.serverWarningSamples) notes.push(`server log: ${w}`);
    for (const c of s.cli ?? []) if ("failed" in c) notes.push(`${c.command}: ${c.failed}`);
    if (notes.length) lines.push("", `${s.store}:`, ...notes.map((n) => `  ${n}`));
  }
  if (report.cliSkipped) lines.push("", `CLI: skipped, ${report.cliSkipped}`);
  return [...lines, ...formatManaged(report), ...formatUi(report)].join("\n");
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

/**
 * The second table: managed execution, one column per runner backend measured. Run milestones are in
 * seconds from the create call; the slot hand-off in ms.
 */
export function formatManaged(report: BenchReport): string[] {
  if (!report.managed) return [];
  const lines = [
    "",
    `Managed execution: real flow runs, embedded store; ${PIP_REQUIREMENT} from the local pip index; free tier (1 managed run at a time)`,
    "",
  ];
  for (const m of report.managed) {
    if ("skipped" in m) lines.push(`${m.runner}: skipped, ${m.skipped}`);
    if ("failed" in m) lines.push(`${m.runner}: FAILED, ${m.failed}`);
  }
  const measured = report.managed.filter(isManagedMeasured);
  if (!measured.length) return lines;
  if (measured.length < report.managed.length) lines.push("");

  const rows: (string[] | null)[] = [["", "", ...measured.map((m) => m.runner)]];
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
    milestones.forEach(([what, key], i) => rows.push([i === 0 ? label : "", what, ...measured.map((m) => seconds(pick(m)[key]))]));
  };
  run("first run (empty cache), s", (m) => m.cold);
  rows.push(null);
  run("second run (cached), s", (m) => m.warm);
  if (measured.some((m) => m.handoff)) {
    rows.push(null);
    const pairs = (m: ManagedFigures) => (m.handoff ? `${m.handoff.samples.length} of ${m.handoff.pairs}` : "n/a");
    rows.push(["slot hand-off, ms", "pairs timed", ...measured.map(pairs)]);
    for (const [what, key] of [["end → next PENDING", "endToPending"], ["end → next first line", "endToFirstFlowLine"]] as const) {
      for (const k of ["p50", "max"] as const) {
        rows.push(["", `${what} ${k}`, ...measured.map((m) => (m.handoff ? msCell(m.handoff[key][k]) : "n/a"))]);
      }
    }
  }
  rows.push(null);
  rows.push(["server warnings logged", "", ...measured.map((m) => String(m.serverWarnings))]);
  lines.push(...table(rows));

  for (const m of measured) {
    const notes = [
      `runner: ${m.description}`,
      ...m.notes,
      ...(m.handoff?.problems ?? []).map((p) => `slot hand-off pair not timed: ${p}`),
      ...m.serverWarningSamples.map((w) => `server log: ${w}`),
    ];
    lines.push("", `${m.runner}:`, ...notes.map((n) => `  ${n}`));
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

function cliCell(c: CliOutcome | undefined): string {
  if (!c) return "n/a";
  if ("failed" in c) return "failed";
  return `${c.wall.p50.toFixed(0)} / ${c.wall.p90.toFixed(0)}`;
}
