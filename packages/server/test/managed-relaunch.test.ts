import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FerryClient, PoolTypeRegistry, stateChange } from "@ferry/core";
import { FakeRunnerBackend } from "@ferry/core/testing";
import { ProcessRunnerBackend } from "@ferry/managed-runner";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";

const ENGINE = new URL("./fixtures/tiny-engine.mjs", import.meta.url).pathname;

/**
 * A server killed while launching a managed run, after the process backend made the run's directory and
 * before its supervisor ran: nothing started. The next start must launch the run (with the backend's
 * idempotent start), not take it for started and lost.
 */
describe("managed runs found unfollowed at a restart", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("is launched after the restart, and completes", async () => {
    const home = mkdtempSync(join(tmpdir(), "ferry-relaunch-"));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const stateDir = join(home, "runs");
    const config = parseServerConfig({}, { home, port: 0, databaseUrl: null, logLevel: "error", providers: [], sweepIntervalMs: 600_000 });
    // First life: no runner here, so the run is admitted by hand below, as the dying server had done.
    let server: RunningServer = await startServer(config, { registry: new PoolTypeRegistry(), runner: null });
    cleanups.push(() => server.close());
    const apiKey = server.bootstrap!.apiKey;
    let client = new FerryClient({ apiUrl: server.url, apiKey });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    const { deployment } = await client.api.applyDeployment({
      body: { flow_name: "etl", name: "tiny", work_pool: "managed", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "etl.py:etl" },
    });
    const { flow_run: run } = await client.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    const admitted = await server.store.compareAndSetFlowRunState(run.id, run.state, { ...stateChange("PENDING", { message: "starting on process" }), timestamp: new Date().toISOString() });
    expect(admitted).not.toBeNull();
    // What the process backend leaves when its caller dies between making the run's directory and
    // spawning the supervisor: the instance record, past its launch deadline, and nothing else.
    mkdirSync(join(stateDir, run.id, "work"), { recursive: true });
    const created = new Date(Date.now() - 60_000).toISOString();
    writeFileSync(join(stateDir, run.id, "instance.json"), JSON.stringify({ flowRunId: run.id, workspaceId: server.bootstrap!.workspaceId, createdAt: created, launchDeadline: created }));
    await server.close();

    const runner = new ProcessRunnerBackend({ stateDir, cacheDir: join(home, "cache"), engineCommand: [process.execPath, ENGINE] });
    server = await startServer(config, { registry: new PoolTypeRegistry(), runner });
    client = new FerryClient({ apiUrl: server.url, apiKey });
    const final = await client.waitForRun(run.id);
    expect(final.state.type).toBe("COMPLETED");
    const logs = (await client.api.listFlowRunLogs({ params: { id: run.id } })).items.map((l) => l.message);
    expect(logs.some((m) => m.startsWith("tiny engine"))).toBe(true);
  });

  it("ends a run that started and whose instance is gone as CRASHED, saying so, once no server could follow it for two leases", async () => {
    const home = mkdtempSync(join(tmpdir(), "ferry-lost-"));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const config = parseServerConfig({}, { home, port: 0, databaseUrl: null, logLevel: "error", providers: [], sweepIntervalMs: 100 });
    const before = new FakeRunnerBackend();
    let server: RunningServer = await startServer(config, { registry: new PoolTypeRegistry(), runner: before });
    cleanups.push(() => server.close());
    const apiKey = server.bootstrap!.apiKey;
    let client = new FerryClient({ apiUrl: server.url, apiKey });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    const { deployment } = await client.api.applyDeployment({
      body: { flow_name: "etl", name: "sleepy", work_pool: "managed", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "etl.py:etl", job_variables: { env: { FAKE_BEHAVIOUR: "sleep" } } },
    });
    const { flow_run: run } = await client.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: run.id } })).state.type, { timeout: 20_000 }).toBe("RUNNING");
    await server.close();
    before.dispose();

    // The host lost its instances while the server was down (a reboot): a runner that has none.
    server = await startServer(config, { registry: new PoolTypeRegistry(), runner: new FakeRunnerBackend() });
    client = new FerryClient({ apiUrl: server.url, apiKey });
    const final = await client.waitForRun(run.id);
    expect(final.state).toMatchObject({ type: "CRASHED", message: expect.stringMatching(/^the run started \(fake:fake-1\) and its instance is gone/) });
  });
});
