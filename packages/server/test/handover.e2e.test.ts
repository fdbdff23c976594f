import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FerryClient, PoolTypeRegistry } from "@ferry/core";
import { FakeRunnerBackend } from "@ferry/core/testing";
import { postgres } from "../../../test-support/services.js";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";
import { freshDatabase } from "./support/databases.js";

/**
 * A server stopped gracefully (SIGTERM in a container: `ferry server start` calls close) hands its runs
 * over: its lease ends at once, so another server on the same database takes them up at its next sweep.
 * Server A's lease would last 5 minutes (5 sweeps of 60 s); the run must move to B long before that.
 */
describe("a server's graceful stop hands its runs to another server", postgres(), () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function server(db: { url: string }, runner: FakeRunnerBackend, sweepIntervalMs: number): Promise<RunningServer> {
    const home = mkdtempSync(join(tmpdir(), "ferry-handover-"));
    const config = parseServerConfig({}, { home, port: 0, databaseUrl: db.url, logLevel: "error", providers: [], sweepIntervalMs });
    const s = await startServer(config, { registry: new PoolTypeRegistry(), runner });
    cleanups.push(async () => {
      await s.close().catch(() => undefined); // A is closed by the test already
      rmSync(home, { recursive: true, force: true });
    });
    return s;
  }

  it("moves a running managed run from the stopped server to the live one, which then drives it to its end", async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    // One runner for both: two servers with one Docker engine (the compose file's shared socket).
    const runner = new FakeRunnerBackend();
    cleanups.push(() => runner.dispose());
    const a = await server(db, runner, 60_000);
    const onA = new FerryClient({ apiUrl: a.url, apiKey: a.bootstrap!.apiKey });
    await onA.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    const { deployment } = await onA.api.applyDeployment({
      body: { flow_name: "etl", name: "sleepy", work_pool: "managed", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "etl.py:etl", job_variables: { env: { FAKE_BEHAVIOUR: "sleep" } } },
    });
    const { flow_run: run } = await onA.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    await expect.poll(async () => (await onA.api.getFlowRun({ params: { id: run.id } })).state.type, { timeout: 30_000 }).toBe("RUNNING");

    const b = await server(db, runner, 100);
    const onB = new FerryClient({ apiUrl: b.url, apiKey: a.bootstrap!.apiKey });
    await a.close();
    // Only the run's owner stops its instance: with A's lease alive, the cancel would wait 5 minutes.
    expect((await onB.api.cancelFlowRun({ params: { id: run.id }, body: {} })).state.type).toBe("CANCELLING");
    const final = await onB.waitForRun(run.id, { signal: AbortSignal.timeout(60_000) });
    expect(final.state.type).toBe("CANCELLED");
    // Launched once (by A), stopped once (by B, which followed the same instance).
    expect(runner.launches).toHaveLength(1);
    expect(runner.stops).toHaveLength(1);
  }, 180_000);
});
