import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../program.js";
import { deployment } from "../testing/fixtures.js";
import { fakeIo, fakeServer, json, type FakeRoute } from "../testing/fake-io.js";
import { describeSchedule } from "./deployment-schedule.js";

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "ferry-cli-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const schedule = { id: "0193a1b2-0000-7000-8000-00000000000a", active: true, cron: "0 9 * * 1-5", timezone: "Europe/Berlin" };
const dep = deployment({ schedules: [schedule] });

function setup(routes: Record<string, FakeRoute>) {
  const server = fakeServer({ "GET /api/deployments": () => json(200, { items: [dep] }), ...routes });
  const io = fakeIo({ env: { FERRY_HOME: home, FERRY_API_URL: "http://ferry.test", FERRY_API_KEY: "fy_testkey_0123456789abcdefghijklmnop" }, fetch: server.fetch });
  return { io, requests: server.requests, run: (...argv: string[]) => run(argv, io) };
}

describe("ferry deployment schedule", () => {
  it("add sends the schedule as given and names what it added", async () => {
    const { io, run, requests } = setup({ [`POST /api/deployments/${dep.id}/schedules`]: () => json(201, dep) });
    expect(await run("deployment", "schedule", "add", "etl/nightly", "--cron", "0 9 * * 1-5", "--timezone", "Europe/Berlin")).toBe(0);
    expect(requests.find((r) => r.method === "POST")!.body).toEqual({ cron: "0 9 * * 1-5", timezone: "Europe/Berlin" });
    expect(io.out()).toContain(`Added schedule ${schedule.id} to etl/nightly: cron 0 9 * * 1-5 (Europe/Berlin)`);
  });

  it("ls shows each schedule with its next runs, and --json the API's items", async () => {
    const items = [{ ...schedule, next_runs: ["2026-12-07T08:00:00.000Z", "2026-12-08T08:00:00.000Z"] }];
    const routes = { [`GET /api/deployments/${dep.id}/schedules`]: () => json(200, { items }) };
    const table = setup(routes);
    expect(await table.run("deployment", "schedule", "ls", "etl/nightly")).toBe(0);
    expect(table.io.out()).toMatch(/cron 0 9 \* \* 1-5 \(Europe\/Berlin\)\s+active\s+2026-12-07T08:00:00.000Z, 2026-12-08/);
    const asJson = setup(routes);
    expect(await asJson.run("deployment", "schedule", "ls", "etl/nightly", "--json")).toBe(0);
    expect(JSON.parse(asJson.io.out())).toEqual(items);
  });

  it("pause, resume and rm address the schedule by id", async () => {
    const path = `/api/deployments/${dep.id}/schedules/${schedule.id}`;
    const { run, requests } = setup({ [`PATCH ${path}`]: () => json(200, dep), [`DELETE ${path}`]: () => json(200, dep) });
    expect(await run("deployment", "schedule", "pause", "etl/nightly", schedule.id)).toBe(0);
    expect(await run("deployment", "schedule", "resume", "etl/nightly", schedule.id)).toBe(0);
    expect(await run("deployment", "schedule", "rm", "etl/nightly", schedule.id, "--yes")).toBe(0);
    expect(requests.filter((r) => r.method !== "GET").map((r) => [r.method, r.body])).toEqual([
      ["PATCH", { active: false }],
      ["PATCH", { active: true }],
      ["DELETE", undefined],
    ]);
  });

  it("describes each kind in one line", () => {
    expect(describeSchedule({ interval: 600, anchor_date: "2026-01-01T00:00:00.000Z" })).toBe("every 600 s from 2026-01-01T00:00:00.000Z");
    expect(describeSchedule({ rrule: "FREQ=DAILY", timezone: "UTC" })).toBe("rrule FREQ=DAILY");
  });
});
