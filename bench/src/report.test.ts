import { describe, expect, it } from "vitest";
import type { ManagedFigures } from "./managed-bench.js";
import type { ManagedRunFigures } from "./managed-figures.js";
import { parseBenchOptions } from "./options.js";
import { buildReport, formatReport } from "./report.js";
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
    const report = buildReport(options, [{ store: "pglite", skipped: "test" }], null, [{ runner: "docker", skipped: "no Docker daemon answers" }, onProcesses]);
    const text = formatReport(report);
    expect(text).toContain("docker: skipped, no Docker daemon answers");
    expect(text).toMatch(/first run \(empty cache\), s +→ PENDING +0\.01/);
    expect(text).toMatch(/→ first flow line +3\.15/);
    expect(text).toMatch(/second run \(cached\), s +→ PENDING/);
    expect(text).toMatch(/pairs timed +0 of 3/);
    expect(text).toMatch(/end → next PENDING p50 +2/);
    expect(text).toMatch(/end → next first line max +430/);
    expect(text).toContain("slot hand-off pair");
    expect(JSON.parse(JSON.stringify(report)).managed).toHaveLength(2);
  });

  it("leaves managed execution out with --no-managed", () => {
    const report = buildReport(parseBenchOptions(["--no-managed"], {}, "/cli")!, [{ store: "pglite", skipped: "test" }], null, null);
    expect(report.managed).toBeNull();
    expect(formatReport(report)).not.toContain("Managed execution");
  });
});
