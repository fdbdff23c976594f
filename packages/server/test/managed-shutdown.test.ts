import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryClient, PoolTypeRegistry, type RunnerBackend, type RunnerExit, type RunnerInstance, type RunnerLaunchSpec, type RunnerStarted } from "@ferry/core";
import { FakeRunnerBackend } from "@ferry/core/testing";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";

/**
 * The fake runner's instances exit the moment they report their end. A real engine's container exits a
 * moment later; this backend shows an instance's exit only once the test opens its gate, and records
 * whether the server gave up waiting for it (aborted its wait).
 */
class LateExitRunner implements RunnerBackend {
  readonly name = "late-exit";
  readonly isolated = true;
  readonly aborted = new Set<string>();
  private readonly gates = new Map<string, { open: () => void; opened: Promise<void> }>();

  constructor(readonly inner: FakeRunnerBackend) {}

  start(spec: RunnerLaunchSpec): Promise<RunnerStarted> {
    return this.inner.start(spec);
  }

  async wait(id: string, signal?: AbortSignal): Promise<RunnerExit> {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.aborted.add(id);
        reject(signal!.reason ?? new Error("aborted"));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      void this.gate(id).opened.then(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });
    return this.inner.wait(id, signal);
  }

  stop(id: string, reason: string): Promise<void> {
    return this.inner.stop(id, reason);
  }

  remove(id: string): Promise<void> {
    return this.inner.remove(id);
  }

  list(): Promise<RunnerInstance[]> {
    return this.inner.list();
  }

  open(id: string): void {
    this.gate(id).open();
  }

  private gate(id: string) {
    let gate = this.gates.get(id);
    if (!gate) {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { open, opened };
      this.gates.set(id, gate);
    }
    return gate;
  }
}

describe("closing a server with managed runs", () => {
  const fake = new FakeRunnerBackend();
  const runner = new LateExitRunner(fake);
  let home: string;
  let server: RunningServer;
  let client: FerryClient;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "ferry-managed-shutdown-"));
    // A grace far longer than the test's timeout: if close waited for the running run, the test would time out.
    const config = { ...parseServerConfig({}, { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [], sweepIntervalMs: 600_000 }), shutdownGraceMs: 120_000 };
    server = await startServer(config, { registry: new PoolTypeRegistry(), runner });
    client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
  });
  afterAll(() => {
    fake.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  const deploy = async (name: string, env: Record<string, string>) =>
    (
      await client.api.applyDeployment({
        body: { flow_name: "etl", name, work_pool: "managed", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "flows/etl.py:etl", job_variables: { env } },
      })
    ).deployment;

  it("removes the instance of a run that ended and leaves a running one for the next start", async () => {
    const ended = (await client.api.createFlowRun({ params: { id: (await deploy("ended", {})).id }, body: {} })).flow_run;
    expect((await client.waitForRun(ended.id)).state.type).toBe("COMPLETED");
    const endedInstance = fake.instanceOf(ended.id)!.id;

    // The run's end freed the free tier's one slot: a second run starts and keeps running.
    const running = (await client.api.createFlowRun({ params: { id: (await deploy("running", { FAKE_BEHAVIOUR: "sleep" })).id }, body: {} })).flow_run;
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: running.id } })).state.type, { timeout: 20_000 }).toBe("RUNNING");
    const runningInstance = fake.instanceOf(running.id)!.id;

    // The ended run's instance exits only after the server has begun to close, as `npm start`'s last
    // container does; closing must not wait out the grace for the running one.
    const closing = server.close();
    setTimeout(() => runner.open(endedInstance), 200);
    await closing;

    expect(runner.aborted.has(endedInstance)).toBe(false);
    expect(fake.removed).toContain(endedInstance);
    expect(runner.aborted.has(runningInstance)).toBe(true);
    expect(fake.removed).not.toContain(runningInstance);
    expect(fake.instanceOf(running.id)?.running).toBe(true);
  }, 60_000);
});
