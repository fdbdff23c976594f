import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FerryClient, PoolTypeRegistry, stateChange } from "@ferry/core";
import { ProcessRunnerBackend } from "@ferry/managed-runner";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";

const ENGINE = new URL("./fixtures/tiny-engine.mjs", import.meta.url).pathname;

/**
 * A server killed while launching a managed run, after the process backend made the run's directory and
 * before its supervisor ran: nothing started. The next start must launch the run (with the backend's
 * idempotent start), not take it for started and lost.
 */
describe("a managed run whose launch was cut short", () => {
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
});
