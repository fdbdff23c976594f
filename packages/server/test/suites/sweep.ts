import { afterEach, expect, it } from "vitest";
import { stateChange, type StateName, type StateType } from "@ferry/core";
import { startTestServer, type TestServer, type TestServerOptions } from "../support/test-server.js";
import type { StoreKind } from "../support/databases.js";

/**
 * A lost wake-up (a kick that threw, a process that died between a write and its notification) must
 * delay a push run by one sweep at most. Each test makes a run's wake-up get lost by changing the
 * store behind the server's back, as another process or a failed kick would leave it.
 */
export function sweepSuite(kind: StoreKind): void {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  const start = async (options: TestServerOptions = {}) => {
    t = await startTestServer(kind, options);
    return t;
  };

  /** A run held in a paused pool: SCHEDULED, and nothing drives it. */
  async function heldRun(t: TestServer, pool: string, jobVariables: Record<string, unknown> = {}) {
    await t.client.api.createWorkPool({ body: { name: pool, type: "fake:push", paused: true } });
    const { deployment } = await t.client.api.applyDeployment({
      body: { flow_name: "etl", name: pool, work_pool: pool, source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "etl.py:etl", job_variables: jobVariables },
    });
    const { flow_run } = await t.client.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    expect(flow_run.state.type).toBe("SCHEDULED");
    return flow_run;
  }

  /** Resumes a pool in the store only: the dispatcher is not told. */
  const resumeBehindTheServersBack = (t: TestServer, pool: string) => t.server.store.updateWorkPool(t.server.bootstrap!.workspaceId, pool, { paused: false });

  const move = async (t: TestServer, id: string, from: { type: StateType; name: StateName }, to: ReturnType<typeof stateChange>) => {
    const moved = await t.server.store.compareAndSetFlowRunState(id, from, { ...to, timestamp: new Date().toISOString() });
    expect(moved).not.toBeNull();
    return moved!.run;
  };

  it("admits a waiting run whose pool was resumed without a wake-up", async () => {
    const t = await start();
    const run = await heldRun(t, "resumed-quietly");
    await resumeBehindTheServersBack(t, "resumed-quietly");
    await t.server.dispatcher.idle();
    expect((await t.client.api.getFlowRun({ params: { id: run.id } })).state.type).toBe("SCHEDULED");
    // A waiting run starts through its pool's admission pass; the sweep counts only runs it drives itself.
    expect(await t.server.dispatcher.sweep()).toBe(0);
    const final = await t.client.waitForRun(run.id);
    expect(final.state.type).toBe("COMPLETED");
    expect(t.provider.started.filter((s) => s.runId === run.id)).toHaveLength(1);
  });

  it("submits and follows an admitted run that nothing drives, once", async () => {
    const t = await start();
    const held = await heldRun(t, "admitted-quietly");
    await move(t, held.id, held.state, stateChange("PENDING", { name: "Submitting", message: "submitting to fake:push" }));
    await resumeBehindTheServersBack(t, "admitted-quietly");
    expect(await t.server.dispatcher.sweep()).toBe(1);
    // A second sweep while the run is being driven leaves it to its driver.
    expect(await t.server.dispatcher.sweep()).toBe(0);
    const final = await t.client.waitForRun(held.id);
    expect(final.state.type).toBe("COMPLETED");
    expect(t.provider.started.filter((s) => s.runId === held.id)).toHaveLength(1);
  });

  it("settles a cancelling run that nothing drives", async () => {
    const t = await start();
    const held = await heldRun(t, "cancelled-quietly");
    const running = await move(t, held.id, held.state, stateChange("RUNNING"));
    await t.server.store.updateFlowRun(held.id, { infrastructure_id: "fake-task-of-a-dead-process" });
    await move(t, held.id, running.state, stateChange("CANCELLING", { message: "cancelled by request" }));
    expect(await t.server.dispatcher.sweep()).toBe(1);
    const final = await t.client.waitForRun(held.id);
    expect(final.state).toMatchObject({ type: "CANCELLED", message: "cancelled; the infrastructure was already gone" });
  });

  it("sweeps by itself every interval, and counts what it picked up", async () => {
    const t = await start({ sweepIntervalMs: 25 });
    const held = await heldRun(t, "found-by-the-timer");
    await move(t, held.id, held.state, stateChange("PENDING", { name: "Submitting", message: "submitting to fake:push" }));
    await resumeBehindTheServersBack(t, "found-by-the-timer");
    // Nothing here wakes the dispatcher: only its own periodic sweep can finish the run.
    expect((await t.client.waitForRun(held.id)).state.type).toBe("COMPLETED");
    expect(t.provider.started.filter((s) => s.runId === held.id)).toHaveLength(1);
    // At least this pickup is counted. A sweep every 25 ms may also list the run just before it ends and
    // find its driver already gone: that re-read is harmless (the run is final) and counted too.
    const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(metrics).toMatch(/ferry_dispatch_sweep_pickups_total\{dispatcher="push"\} [1-9]\d*\n/);
  });
}
