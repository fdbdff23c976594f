import { describe, expect, it } from "vitest";
import type { ManagedFigures } from "./managed-bench.js";
import type { ManagedRunFigures } from "./managed-figures.js";
import { parseBenchOptions } from "./options.js";
import { atLeast, atMost, buildReport, formatReport, marked } from "./report.js";
import type { LoadFigures, StoreFigures } from "./store-bench.js";
import { distribution } from "./stats.js";

const run = (scale: number): ManagedRunFigures => ({
  flowRunId: "r",
  finalState: "COMPLETED",
  message: null,
  dependencies: scale > 1 ? "installed" : "cached",
  toPending: 12,
  toStarted: 150 * scale,
  toRunning: 400 * scale,
  toFirstFlowLine: 450 * scale,
  toFirstFlowLineSeen: 470 * scale,
  toCompleted: 480 * scale,
  toFinalSeen: 490 * scale,
});

const onProcesses: ManagedFigures = {
  runner: "process",
  warmEngines: 0,
  description: "using the process backend (as configured), which gives runs no isolation",
  cold: run(7),
  warm: run(1),
  handoff: {
    pairs: 3,
    samples: [],
    problems: ["the second run never waited in AwaitingConcurrencySlot"],
    endToPending: distribution([2, 5]),
    endToFirstFlowLine: distribution([410, 430]),
  },
  notes: [],
  serverWarnings: 0,
  serverWarningSamples: [],
};

describe("formatReport with managed execution", () => {
  const options = parseBenchOptions(["--stores", "pglite"], {}, "/cli")!;

  it("prints a second table, one column per runner measured, and says why the others were not", () => {
    const warm: ManagedFigures = { ...onProcesses, warmEngines: 2, warm: run(0.5) };
    const report = buildReport(options, [{ store: "pglite", skipped: "test" }], null, [{ runner: "docker", warmEngines: 0, skipped: "no Docker daemon answers" }, onProcesses, warm]);
    const text = formatReport(report);
    expect(text).toContain("docker, cold: skipped, no Docker daemon answers");
    expect(text).toMatch(/ +process, cold +process, 2 warm +goal/);
    // The three figures first, marked against their goals where they have one.
    expect(text).toMatch(/submitted → first flow line, s +dependencies cached +0\.45 ✓ +0\.23 ✓ +≤ 1 s/);
    expect(text).toMatch(/freed slot → next first line, ms +p50 +410 ✓ +410 ✓ +≤ 1,000/);
    expect(text).toMatch(/first run with new pip_packages, s +→ first flow line +3\.15 +3\.15 +the download/);
    expect(text).toContain("FERRY_WARM_ENGINES=0 and =2");
    expect(text).toMatch(/first run \(empty cache\), s +→ PENDING +0\.01/);
    expect(text).toMatch(/→ first flow line +3\.15/);
    expect(text).toMatch(/second run \(cached\), s +→ PENDING/);
    expect(text).toMatch(/pairs timed +0 of 3/);
    expect(text).toMatch(/end → next PENDING p50 +2/);
    expect(text).toMatch(/end → next first line max +430/);
    expect(text).toContain("slot hand-off pair");
    expect(JSON.parse(JSON.stringify(report)).managed).toHaveLength(3);
  });

  it("leaves managed execution out with --no-managed", () => {
    const report = buildReport(parseBenchOptions(["--no-managed"], {}, "/cli")!, [{ store: "pglite", skipped: "test" }], null, null);
    expect(report.managed).toBeNull();
    expect(formatReport(report)).not.toContain("Managed execution");
  });
});

const load = (clients: number, p99: number, created: number): LoadFigures => ({
  clients,
  runs: 200,
  createToSubmit: distribution([2, 3, p99]),
  createCall: distribution([1, 2]),
  createToCompleted: distribution([5]),
  perSecond: { created, dispatched: created - 1, completed: created - 2 },
  windowSeconds: { created: 1, dispatched: 1, completed: 1 },
  createErrors: 0,
  createErrorMessages: [],
  notSubmitted: 0,
  notCompleted: 0,
  notCompletedByState: {},
});
const calls = (p50: number, p99: number) => ({ clients: 1, call: distribution([p50, p50, p99]), perSecond: 100, errors: 0, errorMessages: [] });

const store = (name: StoreFigures["store"], scale: number): StoreFigures => ({
  store: name,
  description: name,
  runs: 200,
  warmup: 20,
  loads: [load(1, 4 * scale, 300 / scale), load(8, 40 * scale, 900 / scale)],
  stateChange: { ...calls(3 * scale, 30 * scale), clients: 8 },
  seededRuns: 5000,
  seedSeconds: 2.5,
  runsAtStart: 5620,
  lists: [
    { ...calls(8 * scale, 20 * scale), state: "FAILED", limit: 200, returned: 200 },
    { ...calls(5 * scale, 9 * scale), state: null, limit: 200, returned: 200 },
  ],
  rssMiB: 150,
  storeRssMiB: 0,
  pssMiB: 140,
  idleRssMiB: 100 * scale,
  idleStoreRssMiB: name === "embedded-postgres" ? 40 : 0,
  idlePssMiB: 90 * scale,
  loadRssMiB: 180,
  loadStoreRssMiB: 0,
  loadPssMiB: 170,
  startMs: 800,
  restartMs: 700 * scale,
  heapUsedMiB: 50,
  serverWarnings: 0,
  serverWarningSamples: [],
  cli: null,
});

describe("formatReport's store table", () => {
  const options = parseBenchOptions(["--stores", "pglite,embedded-postgres,postgres", "--list-runs", "5000"], {}, "/cli")!;
  const report = buildReport(options, [store("pglite", 2), store("embedded-postgres", 1), { store: "postgres", skipped: "no URL" }], null, null);
  const text = formatReport(report);

  it("has one column per measured store and a goal column, and says why a store was skipped", () => {
    expect(text).toContain("postgres: skipped, no URL");
    expect(text).toMatch(/^ +pglite +embedded-postgres +goal$/m);
  });

  it("shows every figure of the issue, grouped, marking which meet their goal", () => {
    expect(text).toMatch(/server memory, MiB +RSS idle +200 ✗ +100 \(40 store\) ✓ +≤ 120/);
    expect(text).toMatch(/PSS idle +180 ✗ +90 ✓ +≤ 120/);
    expect(text).toMatch(/RSS under load \(peak\) +180 +180$/m);
    expect(text).toMatch(/create → submit, 1 client +p50 ms +3\.0 +3\.0$/m);
    // The create goals are stated at 8 clients: only that group is marked.
    expect(text).toMatch(/p99 ms +8\.0 +4\.0$/m);
    expect(text).toMatch(/create → submit, 8 clients +p50 ms/);
    expect(text).toMatch(/p99 ms +80\.0 ✗ +40\.0 ✓ +≤ 50/);
    expect(text).toMatch(/runs\/s created +450 ✗ +900 ✓ +≥ 600/);
    expect(text).toMatch(/state change, 8 clients +p50 ms +6\.0 +3\.0/);
    expect(text).toMatch(/list 200 of 5,620 runs +in FAILED, p50 ms +16\.0 ✗ +8\.0 ✓ +≤ 10/);
    expect(text).toMatch(/unfiltered, p50 ms +10\.0 +5\.0$/m);
    expect(text).toMatch(/server start, ms +empty store +800 +800/);
    expect(text).toMatch(/with 5,620 runs, to first answer +1400 ✗ +700 ✓ +≤ 1,000/);
    expect(text).toMatch(/runs not COMPLETED +0 +0 +0/);
  });

  it("keeps every figure in the JSON", () => {
    const json = JSON.parse(JSON.stringify(report)) as { options: { clients: number[]; listRuns: number }; stores: StoreFigures[] };
    expect(json.options).toMatchObject({ clients: [1, 8], listRuns: 5000 });
    expect(json.stores[0]!.loads.map((l) => l.clients)).toEqual([1, 8]);
    expect(json.stores[0]!.lists[0]).toMatchObject({ state: "FAILED", returned: 200 });
  });
});

describe("marked", () => {
  it("marks a value against its goal, and leaves an unobserved one n/a", () => {
    expect(marked(9, "9.0", atMost(10))).toBe("9.0 ✓");
    expect(marked(11, "11", atMost(10))).toBe("11 ✗");
    expect(marked(600, "600", atLeast(600))).toBe("600 ✓");
    expect(marked(5, "5", null)).toBe("5");
    expect(marked(Number.NaN, "NaN", atMost(10))).toBe("n/a");
  });
});
