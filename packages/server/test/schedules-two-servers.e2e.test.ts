import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FerryClient, nextOccurrences, PoolTypeRegistry } from "@ferry/core";
import { FakeComputeProvider } from "@ferry/core/testing";
import { postgres } from "../../../test-support/services.js";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";
import { freshDatabase } from "./support/databases.js";

/**
 * The issue's acceptance: a cron schedule with a time zone creates its runs once with two servers on
 * one PostgreSQL database. Both servers' schedulers run every 20 ms and are also made to pass at the
 * same moment; every expected time must exist exactly once.
 */
describe("schedules with two servers on one PostgreSQL database", postgres(), () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function server(url: string): Promise<RunningServer> {
    const home = mkdtempSync(join(tmpdir(), "ferry-sched-"));
    const registry = new PoolTypeRegistry();
    const provider = new FakeComputeProvider();
    registry.registerPlugin("@ferry/core/testing", { providers: [provider] });
    const config = parseServerConfig({}, { home, port: 0, databaseUrl: url, logLevel: "error", providers: [], sweepIntervalMs: 200, schedulerIntervalMs: 20 });
    const s = await startServer(config, { registry, runner: null });
    cleanups.push(async () => {
      await s.close();
      provider.dispose();
      rmSync(home, { recursive: true, force: true });
    });
    return s;
  }

  it("creates each time of a cron schedule in a time zone exactly once", async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    const a = await server(db.url);
    const b = await server(db.url);
    const onA = new FerryClient({ apiUrl: a.url, apiKey: a.bootstrap!.apiKey });
    const onB = new FerryClient({ apiUrl: b.url, apiKey: a.bootstrap!.apiKey });
    // A paused pool: the runs stay SCHEDULED, so every one can be counted.
    await onA.api.createWorkPool({ body: { name: "held", type: "fake:push", paused: true } });
    const schedules = [
      // Minute 7 and 37 of every hour in Kolkata (UTC+5:30): :37 and :07 UTC.
      { cron: "7,37 * * * *", timezone: "Asia/Kolkata" },
      { cron: "0 9 * * 1-5", timezone: "America/New_York" },
    ];
    const { deployment } = await onB.api.applyDeployment({
      body: { flow_name: "etl", name: "twice", work_pool: "held", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "etl.py:etl", schedules },
    });
    for (let i = 0; i < 10; i++) await Promise.all([a.scheduler.pass(), b.scheduler.pass()]);
    await new Promise((r) => setTimeout(r, 1000));

    const runs = await onA.listAll.listFlowRuns({ query: { deployment_id: deployment.id } });
    const times = runs.map((r) => r.expected_start_time!);
    expect(new Set(times).size).toBe(times.length);
    expect(runs.every((r) => r.state.type === "SCHEDULED")).toBe(true);
    // What core says the schedules hold from the first run on: the horizon's Kolkata times, and New York's next three mornings.
    const from = new Date(Math.min(...times.map((t) => Date.parse(t))) - 1);
    const kolkata = nextOccurrences(schedules[0]!, from, { count: 2 });
    expect(kolkata.every((t) => times.includes(t.toISOString()))).toBe(true);
    expect(kolkata.map((t) => t.getUTCMinutes()).sort((x, y) => x - y)).toEqual([7, 37]);
    const newYork = nextOccurrences(schedules[1]!, new Date(Date.now() - 60_000), { count: 3 }).map((t) => t.toISOString());
    expect(newYork.every((t) => times.includes(t))).toBe(true);
    expect(runs.filter((r) => r.expected_start_time!.endsWith(":00:00.000Z")).length).toBeGreaterThanOrEqual(3);
  });
});
