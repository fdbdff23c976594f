import { FerryClient, type Deployment } from "@ferry/core";
import { FakeRunnerBackend } from "@ferry/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/test-server.js";

/**
 * The managed dispatcher's warm engines, on the embedded store, with core's fake runner backend (its
 * warm engines kept in memory): which run takes which warm engine, across two workspaces, and what
 * pausing and deleting a pool and stopping the server end.
 */
describe("warm engines in the managed dispatcher", () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  const setUp = async (client: FerryClient, pool: string): Promise<Deployment> => {
    await client.api.createWorkPool({ body: { name: pool, type: "ferry:managed" } });
    return (await client.api.applyDeployment({
      body: { flow_name: "warm", name: pool, work_pool: pool, source: { git_url: "https://example.com/flows.git", branch: "main" }, entrypoint: "flows/a.py:main" },
    })).deployment;
  };
  const runToEnd = async (client: FerryClient, d: Deployment) =>
    client.waitForRun((await client.api.createFlowRun({ params: { id: d.id }, body: {} })).flow_run.id, { signal: AbortSignal.timeout(30_000) });

  it("hands each workspace's runs only that workspace's warm engines, one run each, replacing them", async () => {
    const runner = new FakeRunnerBackend({ warm: true });
    t = await startTestServer("pglite", { runner, warmEngines: 1 });
    const created = await t.admin.api.adminCreateWorkspace({ body: { name: "tenant-b" } });
    const b = new FerryClient({ apiUrl: t.server.url, apiKey: created.api_key.key });
    const da = await setUp(t.client, "pool-a");
    const db = await setUp(b, "pool-b");

    expect((await runToEnd(t.client, da)).state.type).toBe("COMPLETED");
    await expect.poll(() => runner.warmLog.prepared.length, { timeout: 30_000 }).toBe(1);
    expect(runner.warmLog.prepared[0]!.spec.workspaceId).not.toBe(created.workspace.id);

    // Workspace B's first run is started cold: A's warm engine waits on.
    expect((await runToEnd(b, db)).state.type).toBe("COMPLETED");
    expect(runner.warmLog.claimed).toEqual([]);

    const second = await runToEnd(t.client, da);
    expect(second.state.type).toBe("COMPLETED");
    expect(runner.warmLog.claimed).toEqual([{ warmId: runner.warmLog.prepared[0]!.id, flowRunId: second.id, workspaceId: runner.warmLog.prepared[0]!.spec.workspaceId }]);
    const third = await runToEnd(b, db);
    expect(runner.warmLog.claimed.map((c) => c.flowRunId)).toContain(third.id);
    // Every claim went to a run of the workspace its engine was made for, and no engine twice.
    for (const claim of runner.warmLog.claimed) {
      expect(runner.warmLog.prepared.find((p) => p.id === claim.warmId)!.spec.workspaceId).toBe(claim.workspaceId);
    }
    expect(new Set(runner.warmLog.claimed.map((c) => c.warmId)).size).toBe(runner.warmLog.claimed.length);
    const logs = (await t.client.api.listFlowRunLogs({ params: { id: second.id }, query: { limit: 50 } })).items.map((l) => l.message);
    expect(logs.some((m) => /^Started on fake \(.*a warm engine\)/.test(m))).toBe(true);
  }, 240_000);

  it("ends a pool's warm engines when it is paused or deleted, and all of them when the server stops", async () => {
    const runner = new FakeRunnerBackend({ warm: true });
    t = await startTestServer("pglite", { runner, warmEngines: 1 });
    const d = await setUp(t.client, "pool");
    await runToEnd(t.client, d);
    await expect.poll(async () => (await runner.warm!.list()).length, { timeout: 30_000 }).toBe(1);
    await t.client.api.updateWorkPool({ params: { name: "pool" }, body: { paused: true } });
    await expect.poll(async () => (await runner.warm!.list()).length, { timeout: 30_000 }).toBe(0);

    await t.client.api.updateWorkPool({ params: { name: "pool" }, body: { paused: false } });
    await runToEnd(t.client, d);
    await expect.poll(async () => (await runner.warm!.list()).length, { timeout: 30_000 }).toBe(1);
    await t.client.api.deleteDeployment({ params: { id: d.id } });
    await t.client.api.deleteWorkPool({ params: { name: "pool" } });
    await expect.poll(async () => (await runner.warm!.list()).length, { timeout: 30_000 }).toBe(0);

    const again = await setUp(t.client, "pool-2");
    await runToEnd(t.client, again);
    await expect.poll(async () => (await runner.warm!.list()).length, { timeout: 30_000 }).toBe(1);
    await t.stop();
    t = undefined;
    expect(await runner.warm!.list()).toEqual([]);
  }, 240_000);
});
