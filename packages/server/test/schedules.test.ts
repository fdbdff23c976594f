import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeploymentApply, FlowRun } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { startTestServer, type TestServer } from "./support/test-server.js";

/**
 * Schedules end to end in one process: a real server over HTTP on the embedded store, its scheduler
 * and push dispatcher driving core's fake platform. Times are real (a schedule's next time a few
 * seconds ahead), so each wait is generous: the machine is loaded.
 */
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer("pglite", { sweepIntervalMs: 200 });
  await t.client.api.createWorkPool({ body: { name: "push", type: "fake:push" } });
  await t.client.api.createWorkPool({ body: { name: "held", type: "fake:push", paused: true } });
});
afterAll(async () => {
  await t?.stop();
});

const base = (name: string, extra: Partial<DeploymentApply> = {}): DeploymentApply => ({
  flow_name: "etl",
  name,
  work_pool: "push",
  source: { git_url: "https://github.com/acme/flows.git", branch: "main" },
  entrypoint: "flows/etl.py:etl",
  ...extra,
});
const runsOf = async (deploymentId: string): Promise<FlowRun[]> =>
  (await t.client.listAll.listFlowRuns({ query: { deployment_id: deploymentId } })) as FlowRun[];
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe("schedules", () => {
  it("refuses a bad cron expression and an unknown time zone with a 400 that names the fix", async () => {
    const cron = await rejection(t.client.api.applyDeployment({ body: base("bad", { schedules: [{ cron: "every morning" }] }) }));
    expect(cron).toMatchObject({ code: "validation_failed", status: 400 });
    expect(cron.message).toMatch(/schedules\[0\]\.cron 'every morning' is not a cron expression.*e\.g\. '0 9 \* \* 1-5'/);
    const zone = await rejection(t.client.api.applyDeployment({ body: base("bad", { schedules: [{ cron: "0 9 * * *", timezone: "Europe/Atlantis" }] }) }));
    expect(zone.message).toMatch(/'Europe\/Atlantis' is not an IANA time zone/);
  });

  it("refuses schedules on a deployment that leaves a required parameter without a value, and takes them once it has one", async () => {
    const schema = { type: "object", properties: { day: { type: "string" }, n: { type: "integer" } }, required: ["day", "n"] };
    const schedules = [{ cron: "0 9 * * *" }];
    const refused = await rejection(t.client.api.applyDeployment({ body: base("needs-day", { parameter_schema: schema, parameters: { n: 3 }, schedules }) }));
    expect(refused).toMatchObject({ code: "validation_failed", status: 400 });
    expect(refused.message).toMatch(/etl\/needs-day has schedules, and its scheduled runs would have no value for the required parameter 'day': give it a default in the deployment's parameters \(ferry deploy --param day=VALUE/);
    const names = async () => ((await t.client.listAll.listDeployments({ query: {} })) as { name: string }[]).map((d) => d.name);
    expect(await names()).not.toContain("needs-day");
    // Without schedules, a run supplies it; a schedule added later is refused the same way.
    const bare = (await t.client.api.applyDeployment({ body: base("needs-day", { parameter_schema: schema, parameters: { n: 3 } }) })).deployment;
    const added = await rejection(t.client.api.addDeploymentSchedule({ params: { id: bare.id }, body: { cron: "0 9 * * *" } }));
    expect(added).toMatchObject({ code: "validation_failed", status: 400 });
    expect(added.message).toMatch(/required parameter 'day'/);
    // A paused schedule makes no runs: taken, and refused when it is resumed.
    const paused = await t.client.api.addDeploymentSchedule({ params: { id: bare.id }, body: { cron: "0 9 * * *", active: false } });
    const resumed = await rejection(t.client.api.updateDeploymentSchedule({ params: { id: bare.id, schedule: paused.schedules[0]!.id }, body: { active: true } }));
    expect(resumed.message).toMatch(/required parameter 'day'/);
    // With a default, the schedules are taken.
    const { deployment } = await t.client.api.applyDeployment({ body: base("needs-day", { parameter_schema: schema, parameters: { n: 3, day: "monday" }, schedules }) });
    expect(deployment.schedules).toHaveLength(1);
  });

  it("creates the runs ahead once, each SCHEDULED with its time, and starts the first only at its time", async () => {
    const anchor = inSeconds(6);
    const { deployment } = await t.client.api.applyDeployment({ body: base("every-ten-minutes", { schedules: [{ interval: 600, anchor_date: anchor }] }) });
    expect(deployment.schedules).toEqual([{ id: expect.any(String), active: true, interval: 600, anchor_date: anchor, timezone: "UTC" }]);
    await t.server.scheduler.pass();
    await t.server.scheduler.pass();
    const runs = await runsOf(deployment.id);
    // The hour ahead holds 6 times (the anchor and every 10 minutes), each created once.
    expect(runs.map((r) => r.expected_start_time).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => new Date(Date.parse(anchor) + i * 600_000).toISOString()));
    expect(runs.every((r) => r.state.type === "SCHEDULED" && r.idempotency_key === `scheduled:${deployment.id}:${r.expected_start_time}`)).toBe(true);
    const first = runs.find((r) => r.expected_start_time === anchor)!;
    await expect.poll(async () => (await t.client.api.getFlowRun({ params: { id: first.id } })).state.type, { timeout: 30_000, interval: 250 }).toBe("COMPLETED");
    const history = await t.client.api.getFlowRunHistory({ params: { id: first.id } });
    const admitted = history.items.find((s) => s.type === "PENDING")!;
    expect(Date.parse(admitted.timestamp)).toBeGreaterThanOrEqual(Date.parse(anchor));
    // The others wait for their times.
    expect((await runsOf(deployment.id)).filter((r) => r.state.type === "SCHEDULED")).toHaveLength(5);

    const listed = await t.client.api.listDeploymentSchedules({ params: { id: deployment.id } });
    expect(listed.items[0]!.next_runs).toHaveLength(5);
  });

  it("pausing a schedule deletes its runs made ahead; resuming makes them again; removing it deletes them", async () => {
    const { deployment } = await t.client.api.applyDeployment({ body: base("hourly", { schedules: [{ cron: "0 * * * *", timezone: "Europe/Berlin" }] }) });
    await t.server.scheduler.pass();
    expect(await runsOf(deployment.id)).toHaveLength(3);
    const scheduleId = deployment.schedules[0]!.id;
    const paused = await t.client.api.updateDeploymentSchedule({ params: { id: deployment.id, schedule: scheduleId }, body: { active: false } });
    expect(paused.schedules[0]!.active).toBe(false);
    expect(await runsOf(deployment.id)).toHaveLength(0);
    await t.server.scheduler.pass();
    expect(await runsOf(deployment.id)).toHaveLength(0);
    await t.client.api.updateDeploymentSchedule({ params: { id: deployment.id, schedule: scheduleId }, body: { active: true } });
    await t.server.scheduler.pass();
    expect(await runsOf(deployment.id)).toHaveLength(3);
    // Applying the same deployment again keeps the schedule's id (and its runs).
    const again = await t.client.api.applyDeployment({ body: base("hourly", { schedules: [{ cron: "0 * * * *", timezone: "Europe/Berlin" }] }) });
    expect(again.action).toBe("unchanged");
    await t.client.api.deleteDeploymentSchedule({ params: { id: deployment.id, schedule: scheduleId } });
    expect(await runsOf(deployment.id)).toHaveLength(0);
  });

  it("keeps runs asked for a time a schedule has, twice over, when the schedule's runs are made, paused or removed", async () => {
    const at = new Date(Math.ceil((Date.now() + 2 * 3600_000) / 3600_000) * 3600_000).toISOString();
    const { deployment } = await t.client.api.applyDeployment({ body: base("on-the-hour", { schedules: [{ cron: "0 * * * *" }] }) });
    const ask = async () => (await t.client.api.createFlowRun({ params: { id: deployment.id }, body: { scheduled_start_time: at } })).flow_run;
    const asked = [await ask(), await ask()];
    expect(asked.map((r) => r.expected_start_time)).toEqual([at, at]);
    await t.server.scheduler.pass();
    const atThatTime = async () => (await runsOf(deployment.id)).filter((r) => r.expected_start_time === at);
    expect((await atThatTime()).map((r) => r.idempotency_key ?? "asked").sort()).toEqual(["asked", "asked", `scheduled:${deployment.id}:${at}`]);
    const scheduleId = deployment.schedules[0]!.id;
    await t.client.api.updateDeploymentSchedule({ params: { id: deployment.id, schedule: scheduleId }, body: { active: false } });
    expect((await atThatTime()).map((r) => r.id).sort()).toEqual(asked.map((r) => r.id).sort());
    await t.client.api.deleteDeploymentSchedule({ params: { id: deployment.id, schedule: scheduleId } });
    expect((await runsOf(deployment.id)).map((r) => r.id).sort()).toEqual(asked.map((r) => r.id).sort());
  });

  it("after downtime, skip creates none of the missed times and catch_up the latest catchup_max_runs, which start at once", async () => {
    const every15 = { schedules: [{ cron: "*/15 * * * *", timezone: "America/New_York" }], work_pool: "held" };
    const { deployment: skip } = await t.client.api.applyDeployment({ body: base("skips", every15) });
    const { deployment: caught } = await t.client.api.applyDeployment({ body: base("catches-up", { ...every15, catchup_policy: "catch_up", catchup_max_runs: 2 }) });
    // As if the servers had been down for three hours since the last pass.
    const threeHoursAgo = new Date(Date.now() - 3 * 3600_000).toISOString();
    for (const d of [skip, caught]) await t.server.store.setSchedulesCheckedAt(d.id, threeHoursAgo);
    await t.server.scheduler.pass();
    const past = async (id: string) => (await runsOf(id)).filter((r) => Date.parse(r.expected_start_time!) <= Date.now());
    expect(await past(skip.id)).toHaveLength(0);
    const missed = await past(caught.id);
    expect(missed).toHaveLength(2);
    // The latest two: within the last half hour.
    expect(missed.every((r) => Date.now() - Date.parse(r.expected_start_time!) <= 30 * 60_000)).toBe(true);
    // Pausing the deployment deletes what was made ahead; what is past its time stays.
    await t.client.api.applyDeployment({ body: base("catches-up", { ...every15, catchup_policy: "catch_up", catchup_max_runs: 2, paused: true }) });
    expect((await runsOf(caught.id)).map((r) => r.id).sort()).toEqual(missed.map((r) => r.id).sort());
  });

  it("names a run Late once it has waited past its deployment's grace, and it starts when it may", async () => {
    const { deployment } = await t.client.api.applyDeployment({
      body: base("waits", { work_pool: "held", late_after_seconds: 1, schedules: [{ interval: 600, anchor_date: inSeconds(1) }] }),
    });
    await t.server.scheduler.pass();
    const first = (await runsOf(deployment.id)).sort((a, b) => a.expected_start_time!.localeCompare(b.expected_start_time!))[0]!;
    await expect
      .poll(
        async () => {
          await t.server.scheduler.pass();
          return (await t.client.api.getFlowRun({ params: { id: first.id } })).state;
        },
        { timeout: 30_000, interval: 500 },
      )
      .toMatchObject({ type: "SCHEDULED", name: "Late", message: expect.stringContaining(`expected to start at ${first.expected_start_time}`) });
    // Only the run past its time: the next ones are not late.
    expect((await runsOf(deployment.id)).filter((r) => r.state.name === "Late")).toHaveLength(1);
    await t.client.api.updateWorkPool({ params: { name: "held" }, body: { paused: false } });
    await expect.poll(async () => (await t.client.api.getFlowRun({ params: { id: first.id } })).state.type, { timeout: 30_000, interval: 250 }).toBe("COMPLETED");
  });

  it("a deployment's concurrency limit: enqueue makes the next run wait, cancel_new cancels it", async () => {
    const hang = { job_variables: { outcome: "hang" }, concurrency_limit: 1 };
    const { deployment: queued } = await t.client.api.applyDeployment({ body: base("one-at-a-time", { ...hang, collision_strategy: "enqueue" }) });
    const { flow_run: a } = await t.client.api.createFlowRun({ params: { id: queued.id }, body: {} });
    await expect.poll(async () => (await t.client.api.getFlowRun({ params: { id: a.id } })).state.type, { timeout: 30_000 }).toBe("RUNNING");
    const { flow_run: b } = await t.client.api.createFlowRun({ params: { id: queued.id }, body: {} });
    await expect
      .poll(async () => (await t.client.api.getFlowRun({ params: { id: b.id } })).state, { timeout: 30_000 })
      .toMatchObject({ type: "SCHEDULED", name: "AwaitingConcurrencySlot", message: expect.stringContaining("deployment 'etl/one-at-a-time' is running 1 of its 1") });
    await t.client.api.cancelFlowRun({ params: { id: a.id }, body: {} });
    await expect.poll(async () => (await t.client.api.getFlowRun({ params: { id: b.id } })).state.type, { timeout: 30_000 }).toBe("RUNNING");
    await t.client.api.cancelFlowRun({ params: { id: b.id }, body: {} });

    const { deployment: single } = await t.client.api.applyDeployment({ body: base("no-overlap", { ...hang, collision_strategy: "cancel_new" }) });
    const { flow_run: c } = await t.client.api.createFlowRun({ params: { id: single.id }, body: {} });
    await expect.poll(async () => (await t.client.api.getFlowRun({ params: { id: c.id } })).state.type, { timeout: 30_000 }).toBe("RUNNING");
    const { flow_run: d } = await t.client.api.createFlowRun({ params: { id: single.id }, body: {} });
    await expect
      .poll(async () => (await t.client.api.getFlowRun({ params: { id: d.id } })).state, { timeout: 30_000 })
      .toMatchObject({ type: "CANCELLED", message: expect.stringContaining("collision_strategy cancel_new") });
    expect((await t.client.api.getFlowRun({ params: { id: c.id } })).state.type).toBe("RUNNING");
    await t.client.api.cancelFlowRun({ params: { id: c.id }, body: {} });
  });
});
