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
 * Two servers on one PostgreSQL database, each with a runner of its own (two hosts): a managed run is
 * followed by the server whose runner runs it. Another server starting must leave it alone, and a
 * cancel taken by that other server must reach the run's own server.
 */
describe("managed runs with two servers on one PostgreSQL database", postgres(), () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function server(db: { url: string }, runner: FakeRunnerBackend): Promise<RunningServer> {
    const home = mkdtempSync(join(tmpdir(), "ferry-two-"));
    const config = parseServerConfig({}, { home, port: 0, databaseUrl: db.url, logLevel: "error", providers: [], sweepIntervalMs: 100 });
    const s = await startServer(config, { registry: new PoolTypeRegistry(), runner });
    cleanups.push(async () => {
      await s.close();
      runner.dispose();
      rmSync(home, { recursive: true, force: true });
    });
    return s;
  }

  it("a server that starts leaves another live server's running run alone, and a cancel it takes stops the run there", async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    const runnerA = new FakeRunnerBackend();
    const a = await server(db, runnerA);
    const onA = new FerryClient({ apiUrl: a.url, apiKey: a.bootstrap!.apiKey });
    await onA.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    const { deployment } = await onA.api.applyDeployment({
      body: { flow_name: "etl", name: "sleepy", work_pool: "managed", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "etl.py:etl", job_variables: { env: { FAKE_BEHAVIOUR: "sleep" } } },
    });
    const { flow_run: run } = await onA.api.createFlowRun({ params: { id: deployment.id }, body: {} });
    await expect.poll(async () => (await onA.api.getFlowRun({ params: { id: run.id } })).state.type, { timeout: 20_000 }).toBe("RUNNING");

    const runnerB = new FakeRunnerBackend();
    const b = await server(db, runnerB);
    const onB = new FerryClient({ apiUrl: b.url, apiKey: a.bootstrap!.apiKey });
    // B's start took up the unfinished runs no live server follows: this one is A's, alive, and B's
    // runner does not have it; it must not be taken for lost.
    expect((await onB.api.getFlowRun({ params: { id: run.id } })).state.type).toBe("RUNNING");

    expect((await onB.api.cancelFlowRun({ params: { id: run.id }, body: {} })).state.type).toBe("CANCELLING");
    const final = await onB.waitForRun(run.id);
    expect(final.state.type).toBe("CANCELLED");
    expect(runnerA.stops).toHaveLength(1);
    expect(runnerB.launches).toHaveLength(0);
  });
});
