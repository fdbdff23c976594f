// CI's short run of `npm run bench`: small sizes, every part the table needs (the three stores,
// 1 and 2 clients, state changes, lists and start-up over seeded runs, managed runs on the process
// backend cold and with warm engines). It checks that each figure was measured, never how fast: speed
// is for the quiet machine, not for CI.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { BenchReport } from "./report.js";
import type { StoreFigures } from "./store-bench.js";
import type { ManagedFigures } from "./managed-bench.js";

const RUN = fileURLToPath(new URL("../dist/run.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ferry-bench-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ARGS = [
  "--runs", "12", "--warmup", "5", "--clients", "1,2", "--list-runs", "500", "--list-calls", "3",
  "--cli-iterations", "1", "--no-ui", "--runners", "process", "--warm-engines", "0,2", "--handoff-pairs", "1", "--timeout-s", "120",
];

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run bench, short", () => {
  it("measures every figure of the issue's table on every store, and managed runs cold and warm", async () => {
    const out = join(dir, "bench.json");
    const { code, stdout, stderr } = await bench([...ARGS, "--json", "--out", out]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const report = JSON.parse(readFileSync(out, "utf8")) as BenchReport;

    const stores = report.stores.filter((s): s is StoreFigures => "loads" in s);
    const expected = process.env.FERRY_BENCH_DATABASE_URL || process.env.FERRY_TEST_DATABASE_URL ? 3 : 2;
    expect(stores.map((s) => s.store)).toHaveLength(expected);
    for (const s of stores) {
      expect(s.loads.map((l) => [l.clients, l.createToSubmit.count, l.notCompleted, l.createErrors])).toEqual([[1, 12, 0, 0], [2, 12, 0, 0]]);
      expect(s.stateChange).toMatchObject({ clients: 2, errors: 0, call: { count: 12 } });
      expect(s.seededRuns).toBe(500);
      // Warm-up, measured runs, state-change runs and the seeded ones, all there when it started again.
      expect(s.runsAtStart).toBe(5 + 2 * 12 + 12 + 500);
      expect(s.lists.map((l) => [l.state, l.returned, l.call.count, l.errors])).toEqual([["FAILED", 25, 3, 0], [null, 200, 3, 0]]);
      for (const figure of [s.idleRssMiB, s.loadRssMiB, s.startMs, s.restartMs, s.loads[1]!.createToSubmit.p99, s.lists[0]!.call.p50]) {
        expect(figure).toBeGreaterThan(0);
      }
    }

    const managed = (report.managed ?? []).filter((m): m is ManagedFigures => "cold" in m);
    expect(managed.map((m) => [m.runner, m.warmEngines])).toEqual([["process", 0], ["process", 2]]);
    for (const m of managed) {
      expect([m.cold.finalState, m.warm.finalState]).toEqual(["COMPLETED", "COMPLETED"]);
      expect(m.warm.toFirstFlowLine).toBeGreaterThan(0);
      expect(m.handoff?.pairs).toBe(1);
    }

    // The table printed beside the JSON: one row per figure of the issue, with its goal.
    for (const row of [
      /server memory, MiB +RSS idle/,
      /PSS under load \(peak\)/,
      /create → submit, 1 client +p50 ms/,
      /create → submit, 2 clients +p50 ms/,
      /state change, 2 clients +p50 ms/,
      /list 200 of 541 runs +in FAILED, p50 ms/,
      /with 541 runs, to first answer .* ≤ 1,000/,
      /submitted → first flow line, s +dependencies cached/,
      /freed slot → next first line, ms +p50/,
      /first run with new pip_packages, s/,
      / process, cold +process, 2 warm +goal/,
    ]) {
      expect(stdout).toMatch(row);
    }
  });
});
