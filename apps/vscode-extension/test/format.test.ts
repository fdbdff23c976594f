import { describe, expect, it } from "vitest";
import type { Quota, Workspace } from "@ferry/core";
import { quotaMarkdown } from "../src/quota-format.js";
import { endMessage, formatEvent, formatLog, formatState, messageWithoutLevel, RUN_ACTIONS, runHeader, runPageUrl } from "../src/run-format.js";
import { deployment, run } from "./fixtures.js";

describe("run output", () => {
  it("formats log lines and states", () => {
    expect(formatLog({ id: "1", flow_run_id: "r", level: "warning", message: "careful", timestamp: "2026-11-22T10:11:12.345Z", source: "flow" })).toBe(
      "10:11:12 WARNING [flow] careful",
    );
    expect(formatState({ id: "2", type: "CRASHED", name: "TimedOut", message: "ran too long", timestamp: "2026-11-22T10:11:13.000Z" })).toBe(
      "10:11:13 ── CRASHED (TimedOut) ── ran too long",
    );
    expect(formatEvent({ kind: "state", id: "3", flow_run_id: "r", state: { id: "3", type: "RUNNING", name: "Running", message: null, timestamp: "2026-11-22T10:11:14.000Z" } })).toBe(
      "10:11:14 ── RUNNING ──",
    );
  });

  it("heads the channel with the run, its deployment and parameters", () => {
    const r = run(deployment("hello", "greet", "p"), "RUNNING", { created: "2026-11-22T10:00:00.000Z" }, { parameters: { name: "Ferry" } });
    const header = runHeader(r);
    expect(header[0]).toContain(r.id);
    expect(header[1]).toBe("Deployment hello/greet on work pool p (ferry:managed)");
    expect(header[2]).toBe('Parameters: {"name":"Ferry"}');
  });

  it("says how a run ended, with its severity", () => {
    const d = deployment("hello", "greet", "p");
    expect(endMessage(run(d, "COMPLETED", { created: "2026-11-22T10:00:00.000Z" }))).toMatchObject({ severity: "info" });
    expect(endMessage(run(d, "COMPLETED", { created: "2026-11-22T10:00:00.000Z" })).text).toMatch(/^Ferry: hello\/greet \(.+\) COMPLETED\.$/);
    const failed = run(d, "FAILED", { created: "2026-11-22T10:00:00.000Z" });
    failed.state.message = "exit code 1";
    expect(endMessage(failed)).toEqual({ text: `Ferry: hello/greet (${failed.name}) ended FAILED: exit code 1.`, severity: "error" });
    expect(endMessage(run(d, "CANCELLED", { created: "2026-11-22T10:00:00.000Z" })).severity).toBe("warning");
  });
});

describe("quotaMarkdown", () => {
  it("shows usage against the limits", () => {
    const limits = { managed_pools: 1, concurrent_managed_runs: 2, compute_hours_per_month: 10, memory_mib: 2048, max_runtime_seconds: 86400, cpus: 1 };
    const workspace: Workspace = { id: "w", name: "acme", tier: "free", limits, limits_override: { compute_hours_per_month: 10 }, created_at: "2026-11-01T00:00:00.000Z" };
    const quota: Quota = {
      tier: "free",
      limits,
      period_start: "2026-11-01T00:00:00.000Z",
      usage: { managed_pools: 1, concurrent_managed_runs: 1, queued_managed_runs: 3, compute_seconds: 18000 },
    };
    const md = quotaMarkdown(workspace, quota, "http://127.0.0.1:4200");
    expect(md).toContain("# Ferry quota: acme");
    expect(md).toContain("(with operator overrides of compute_hours_per_month)");
    expect(md).toContain("| Concurrent managed runs | 1 | 2 | ██████████░░░░░░░░░░ 50% |");
    expect(md).toContain("| Compute hours this month | 5.0 | 10 | ██████████░░░░░░░░░░ 50% |");
    expect(md).toContain("| Managed work pools | 1 | 1 | ████████████████████ 100% |");
    expect(md).toContain("memory: 2048 MiB");
    expect(md).toContain("at most 24.0 h");
  });
});

describe("links to the web UI", () => {
  it("opens a run's page in the server's web UI, not its JSON API", () => {
    const r = run(deployment("etl", "nightly", "managed"), "RUNNING", { created: "2026-11-22T10:00:00.000Z" });
    expect(runPageUrl("http://127.0.0.1:4200/", r)).toBe(`http://127.0.0.1:4200/runs/${r.id}`);
    expect(runPageUrl("https://ferry.example.com", r)).toBe(`https://ferry.example.com/runs/${r.id}`);
  });

  it("offers the logs and the browser when a run ends", () => {
    expect(Object.values(RUN_ACTIONS)).toEqual(["Show Logs", "Open in Browser"]);
  });
});

describe("messageWithoutLevel", () => {
  it("drops a leading level name that repeats the line's level (Python's logging format), once", () => {
    expect(messageWithoutLevel({ level: "info", message: "INFO etl: loaded" })).toBe("etl: loaded");
    expect(messageWithoutLevel({ level: "warning", message: "WARNING: careful" })).toBe("careful");
    expect(messageWithoutLevel({ level: "debug", message: "DEBUG etl: details" })).toBe("etl: details");
    expect(formatLog({ id: "1", flow_run_id: "r", level: "info", message: "INFO etl: INFO is a word", timestamp: "2026-11-22T10:11:12.345Z", source: "flow" })).toBe(
      "10:11:12 INFO    [flow] etl: INFO is a word",
    );
  });
  it("keeps a level name that is not the line's, and words that only start like one", () => {
    expect(messageWithoutLevel({ level: "info", message: "ERROR rows were skipped" })).toBe("ERROR rows were skipped");
    expect(messageWithoutLevel({ level: "info", message: "INFORMATION follows" })).toBe("INFORMATION follows");
  });
});
