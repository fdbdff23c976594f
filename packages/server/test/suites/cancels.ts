import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { FerryClient, FerryError, PoolTypeRegistry, type FlowRun, type InfrastructureRef } from "@ferry/core";
import { FakeComputeProvider, FakeRunnerBackend } from "@ferry/core/testing";
import { parseServerConfig, startServer, type RunningServer } from "../../src/index.js";
import { freshDatabase, type StoreKind } from "../support/databases.js";

/**
 * A platform whose stop requests fail the first `refusals` times (as a StopTask refused by the cloud):
 * the dispatcher must keep the run CANCELLING and ask again, and call it CANCELLED only once the stop
 * was accepted and the infrastructure ended.
 */
export class RefusingProvider extends FakeComputeProvider {
  readonly cancelAttempts: string[] = [];
  constructor(public refusals: number) {
    super({ type: "refusing:push" });
  }
  override async cancel(ref: InfrastructureRef, reason: string): Promise<void> {
    this.cancelAttempts.push(ref.infrastructureId);
    if (this.refusals > 0) {
      this.refusals--;
      throw new FerryError("provider_error", "StopTask failed: the platform refused to stop the task (AccessDenied)", { retryable: false });
    }
    return super.cancel(ref, reason);
  }
}

/** A runner whose stops fail the first `failures` times (the instance keeps running meanwhile). */
export class FailingStopRunner extends FakeRunnerBackend {
  stopAttempts = 0;
  constructor(public failures: number) {
    super();
  }
  override async stop(id: string, reason: string): Promise<void> {
    this.stopAttempts++;
    if (this.failures > 0) {
      this.failures--;
      throw new FerryError("unavailable", "the container engine did not answer the stop request");
    }
    return super.stop(id, reason);
  }
}

const logsOf = async (client: FerryClient, id: string) => (await client.api.listFlowRunLogs({ params: { id } })).items.map((l) => l.message);
const historyOf = async (client: FerryClient, id: string) => (await client.api.getFlowRunHistory({ params: { id } })).items.map((s) => s.type);

/** Cancels that must be carried out whatever fails on the way: a refused stop, a server restart. */
export function cancelSuite(kind: StoreKind): void {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(options: { provider?: FakeComputeProvider; runner?: FakeRunnerBackend }) {
    const home = mkdtempSync(join(tmpdir(), "ferry-cancels-"));
    const db = kind === "postgres" ? await freshDatabase() : null;
    const registry = new PoolTypeRegistry();
    if (options.provider) registry.registerPlugin("@ferry/test-refusing", { providers: [options.provider] });
    const runner = options.runner ?? new FakeRunnerBackend();
    const config = (port: number) =>
      parseServerConfig({}, { home, port, databaseUrl: db?.url ?? null, store: "pglite", logLevel: "error", providers: [], sweepIntervalMs: 600_000 });
    let server: RunningServer = await startServer(config(0), { registry, runner });
    const apiKey = server.bootstrap!.apiKey;
    const s = {
      get server() {
        return server;
      },
      client: new FerryClient({ apiUrl: server.url, apiKey }),
      /** Stops the server (instances keep running) and starts it again on the same port and store. */
      async restart() {
        await server.close();
        server = await startServer(config(Number(new URL(server.url).port)), { registry, runner });
      },
    };
    cleanups.push(async () => {
      await server.close();
      options.provider?.dispose();
      runner.dispose();
      await db?.drop();
      rmSync(home, { recursive: true, force: true });
    });
    return s;
  }

  async function deployAndRun(client: FerryClient, pool: { name: string; type: string }, jobVariables: Record<string, unknown>): Promise<FlowRun> {
    await client.api.createWorkPool({ body: pool });
    const { deployment } = await client.api.applyDeployment({
      body: { flow_name: "etl", name: pool.name, work_pool: pool.name, source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "etl.py:etl", job_variables: jobVariables },
    });
    return (await client.api.createFlowRun({ params: { id: deployment.id }, body: {} })).flow_run;
  }

  it("keeps a push run CANCELLING while the platform refuses to stop it, says why, and asks again until it stops", async () => {
    const provider = new RefusingProvider(2);
    const { client } = await setup({ provider });
    const run = await deployAndRun(client, { name: "refusing", type: "refusing:push" }, { outcome: "hang" });
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: run.id } })).state.type, { timeout: 20_000 }).toBe("RUNNING");

    const answered = await client.api.cancelFlowRun({ params: { id: run.id }, body: { reason: "wrong input" } });
    expect(answered.state.type).toBe("CANCELLING");
    const final = await client.waitForRun(run.id);

    expect(final.state).toMatchObject({ type: "CANCELLED", message: "the infrastructure was stopped on request" });
    expect(provider.cancelAttempts).toHaveLength(3);
    expect(await historyOf(client, run.id)).toEqual(["SCHEDULED", "PENDING", "PENDING", "RUNNING", "CANCELLING", "CANCELLED"]);
    const logs = await logsOf(client, run.id);
    const refused = logs.filter((m) => m.startsWith("Could not stop"));
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatch(/\(attempt 1\): .*StopTask failed.*The run stays CANCELLING until refusing:push accepts the stop; asking again in/);
    expect(logs.findIndex((m) => m.startsWith("Asked refusing:push to stop"))).toBeGreaterThan(logs.indexOf(refused[1]!));
  });

  it("carries out an acknowledged cancel of a managed run after a restart, when the stop had failed before it", async () => {
    const runner = new FailingStopRunner(1);
    const t = await setup({ runner });
    const run = await deployAndRun(t.client, { name: "managed", type: "ferry:managed" }, { env: { FAKE_BEHAVIOUR: "sleep" } });
    await expect.poll(async () => (await t.client.api.getFlowRun({ params: { id: run.id } })).state.type, { timeout: 20_000 }).toBe("RUNNING");

    const answered = await t.client.api.cancelFlowRun({ params: { id: run.id }, body: {} });
    expect(answered.state.type).toBe("CANCELLING");
    await expect.poll(async () => (await logsOf(t.client, run.id)).some((m) => m.startsWith("Could not stop the run's fake instance (attempt 1)")), { timeout: 20_000 }).toBe(true);
    // The server goes away before it could try again: only the stored cancel is left.
    await t.restart();

    const final = await t.client.waitForRun(run.id);
    expect(final.state.type).toBe("CANCELLED");
    expect(runner.instanceOf(run.id)?.running ?? false).toBe(false);
    expect(runner.launches.filter((l) => l.flowRunId === run.id)).toHaveLength(1);
  });

  it("stops a cancelled run's instance when the cancel was stored while no server followed the run", async () => {
    const t = await setup({});
    const run = await deployAndRun(t.client, { name: "managed", type: "ferry:managed" }, { env: { FAKE_BEHAVIOUR: "sleep" } });
    await expect.poll(async () => (await t.client.api.getFlowRun({ params: { id: run.id } })).state.type, { timeout: 20_000 }).toBe("RUNNING");
    // What a server killed right after answering a cancel leaves behind: the stored state, and nothing
    // done about it (written behind the server's back, so no follower is woken).
    const stored = await t.server.store.compareAndSetFlowRunState(run.id, { type: "RUNNING", name: "Running" }, { type: "CANCELLING", name: "Cancelling", message: "cancelled by request", timestamp: new Date().toISOString() });
    expect(stored).not.toBeNull();
    // A restart finds it: the sweep at start takes up the run and stops its instance.
    await t.restart();
    expect((await t.client.waitForRun(run.id)).state.type).toBe("CANCELLED");
  });
}
