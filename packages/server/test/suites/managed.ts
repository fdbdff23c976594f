import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FerryClient, PoolTypeRegistry, type Deployment, type FlowRunEvent } from "@ferry/core";
import { FakeRunnerBackend, rejection } from "@ferry/core/testing";
import { parseServerConfig, startServer, type RunningServer } from "../../src/index.js";
import { freshDatabase, type StoreKind } from "../support/databases.js";


/** The tests see only the wake-ups: a lost one fails a test instead of being covered by the sweep. */
const NO_SWEEP = 600_000;
/** Room for a slow machine: the polls below wait for a state, they do not time it. */
const SLOW = { timeout: 20_000 };

/** Managed execution's dispatch, quotas and restarts with the fake runner, on `kind`'s store. */
export function managedSuite(kind: StoreKind): void {
  const runner = new FakeRunnerBackend();
  let home: string;
  let db: Awaited<ReturnType<typeof freshDatabase>> | null = null;
  let server: RunningServer;
  let client: FerryClient;
  let admin: FerryClient;
  let apiKey: string;
  let workspaceId: string;

  /** Starts the server again on the same port: the engines of running runs keep reporting to that URL. */
  const restart = async () => {
    const port = Number(new URL(server.url).port);
    const config = parseServerConfig({}, { home, port, databaseUrl: db?.url ?? null, store: "pglite", logLevel: (process.env.TEST_LOG_LEVEL ?? "warn") as "warn", providers: [], sweepIntervalMs: NO_SWEEP });
    server = await startServer(config, { registry: new PoolTypeRegistry(), runner });
    client = new FerryClient({ apiUrl: server.url, apiKey });
    admin = new FerryClient({ apiUrl: server.url, adminToken: server.adminToken });
  };

  const deploy = async (name: string, env: Record<string, string> = {}): Promise<Deployment> =>
    (
      await client.api.applyDeployment({
        body: {
          flow_name: "etl", name, work_pool: "managed",
          source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "flows/etl.py:etl",
          job_variables: { env, pip_packages: ["six"] },
        },
      })
    ).deployment;

  const run = async (d: Deployment) => (await client.api.createFlowRun({ params: { id: d.id }, body: {} })).flow_run;

  const setLimits = (limits: Record<string, number> | null) =>
    admin.api.adminUpdateWorkspace({ params: { id: workspaceId }, body: { limits } });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "ferry-managed-"));
    db = kind === "postgres" ? await freshDatabase() : null;
    const config = parseServerConfig({}, { home, port: 0, databaseUrl: db?.url ?? null, store: "pglite", logLevel: (process.env.TEST_LOG_LEVEL ?? "warn") as "warn", providers: [], sweepIntervalMs: NO_SWEEP });
    server = await startServer(config, { registry: new PoolTypeRegistry(), runner });
    apiKey = server.bootstrap!.apiKey;
    workspaceId = server.bootstrap!.workspaceId;
    client = new FerryClient({ apiUrl: server.url, apiKey });
    admin = new FerryClient({ apiUrl: server.url, adminToken: server.adminToken });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
  });
  afterAll(async () => {
    await server?.close();
    runner.dispose();
    await db?.drop();
    rmSync(home, { recursive: true, force: true });
  });

  it("runs a managed run to COMPLETED with its result, on a run token and no API key", async () => {
    const d = await deploy("ok");
    const created = await run(d);
    const final = await client.waitForRun(created.id);
    expect(final.state.type).toBe("COMPLETED");
    expect(final.result).toEqual({ ok: true });
    const spec = runner.launches.find((l) => l.flowRunId === created.id)!;
    // The container gets a single-use bootstrap token; the fake, like the engine, traded it for the run token.
    expect(spec.env.FERRY_BOOTSTRAP_TOKEN).toMatch(/^frb_/);
    expect(spec.env.FERRY_RUN_TOKEN).toBeUndefined();
    expect(runner.runTokenOf(created.id)).toMatch(/^frt_/);
    expect(Object.values(spec.env)).not.toContain(apiKey);
    expect(spec.memoryMib).toBe(2048);
    expect(spec.env.FERRY_API_URL).toBe(server.url);
    const logs = (await client.api.listFlowRunLogs({ params: { id: created.id } })).items.map((l) => l.message);
    expect(logs).toContain("hello from complete");
    expect(logs.some((m) => /^Started on fake/.test(m))).toBe(true);
    // The instance is removed once its exit is read.
    await expect.poll(() => runner.removed.includes(runner.instanceOf(created.id)?.id ?? "gone")).toBe(false);
  });

  it("gives a run token its own run only", async () => {
    const d = await deploy("scoped", { FAKE_BEHAVIOUR: "sleep" });
    const mine = await run(d);
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: mine.id } })).state.type).toBe("RUNNING");
    const token = runner.runTokenOf(mine.id)!;
    const engine = new FerryClient({ apiUrl: server.url, apiKey: token });
    expect((await engine.api.getFlowRun({ params: { id: mine.id } })).id).toBe(mine.id);
    expect((await engine.api.getDeployment({ params: { id: d.id } })).id).toBe(d.id);
    const source = await engine.api.getFlowRunSource({ params: { id: mine.id } });
    expect(source.git_url).toBe("https://github.com/acme/flows.git");
    const other = (await client.api.listFlowRuns()).items.find((r) => r.id !== mine.id)!;
    expect((await rejection(engine.api.getFlowRun({ params: { id: other.id } }))).code).toBe("not_found");
    expect((await rejection(engine.api.listWorkPools())).code).toBe("forbidden");
    expect((await rejection(engine.api.createFlowRun({ params: { id: d.id }, body: {} }))).code).toBe("forbidden");
    expect((await rejection(client.api.getFlowRunSource({ params: { id: mine.id } }))).code).toBe("forbidden");
    const forged = `${token.slice(0, -4)}AAAA`;
    expect((await rejection(new FerryClient({ apiUrl: server.url, apiKey: forged }).api.getFlowRun({ params: { id: mine.id } }))).code).toBe("unauthenticated");
    await client.api.cancelFlowRun({ params: { id: mine.id }, body: {} });
    expect((await client.waitForRun(mine.id)).state.type).toBe("CANCELLED");
  });

  it("on the free tier, a second run waits in AwaitingConcurrencySlot and starts when the first ends", async () => {
    const d = await deploy("queued", { FAKE_DURATION_MS: "400" });
    const first = await run(d);
    const second = await run(d);
    const seen: string[] = [];
    const done = await client.waitForRun(second.id, {
      onEvent: (e: FlowRunEvent) => {
        if (e.kind === "state") seen.push(e.state.name);
      },
    });
    expect(seen).toContain("AwaitingConcurrencySlot");
    expect(done.state.type).toBe("COMPLETED");
    const firstDone = await client.api.getFlowRun({ params: { id: first.id } });
    const history = (await client.api.getFlowRunHistory({ params: { id: second.id } })).items;
    const admitted = history.find((s) => s.type === "PENDING")!;
    const freed = Date.parse(firstDone.end_time!);
    expect(Date.parse(admitted.timestamp)).toBeGreaterThanOrEqual(freed);
    // Starts within a second of the slot freeing.
    expect(Date.parse(admitted.timestamp) - freed).toBeLessThan(1000);
    expect(history.find((s) => s.name === "AwaitingConcurrencySlot")!.message).toMatch(/free tier runs 1 managed run at a time/);
  });

  it("keeps a managed pool to its own concurrency limit, within the tier's, and starts the next run when a slot frees or the limit rises", async () => {
    await setLimits({ concurrent_managed_runs: 5 });
    await client.api.updateWorkPool({ params: { name: "managed" }, body: { concurrency_limit: 1 } });
    try {
      const d = await deploy("pool-limited", { FAKE_BEHAVIOUR: "sleep" });
      const first = await run(d);
      await expect.poll(async () => (await client.api.getFlowRun({ params: { id: first.id } })).state.type, SLOW).toBe("RUNNING");
      const second = await run(d);
      const third = await run(d);
      // The tier has slots to spare: only the pool's own limit holds these back.
      for (const waiting of [second, third]) {
        await expect.poll(async () => (await client.api.getFlowRun({ params: { id: waiting.id } })).state.name, SLOW).toBe("AwaitingConcurrencySlot");
        expect((await client.api.getFlowRun({ params: { id: waiting.id } })).state.message).toBe(
          "work pool 'managed' is running 1 of its 1 allowed runs; this run starts when one ends",
        );
      }
      expect(runner.launches.some((l) => l.flowRunId === second.id || l.flowRunId === third.id)).toBe(false);

      // A freed slot goes to the oldest waiting run.
      await client.api.cancelFlowRun({ params: { id: first.id }, body: {} });
      await expect.poll(async () => (await client.api.getFlowRun({ params: { id: second.id } })).state.type, SLOW).toBe("RUNNING");
      expect((await client.api.getFlowRun({ params: { id: third.id } })).state.name).toBe("AwaitingConcurrencySlot");

      // A raised limit lets the next one start without waiting for an end.
      await client.api.updateWorkPool({ params: { name: "managed" }, body: { concurrency_limit: 2 } });
      await expect.poll(async () => (await client.api.getFlowRun({ params: { id: third.id } })).state.type, SLOW).toBe("RUNNING");
      for (const r of [second, third]) {
        await client.api.cancelFlowRun({ params: { id: r.id }, body: {} });
        expect((await client.waitForRun(r.id)).state.type).toBe("CANCELLED");
      }
    } finally {
      await client.api.updateWorkPool({ params: { name: "managed" }, body: { concurrency_limit: null } });
      await setLimits(null);
    }
  });

  it("marks CRASHED a run killed for memory, and one whose engine died without reporting", async () => {
    const oom = await run(await deploy("oom", { FAKE_BEHAVIOUR: "oom" }));
    const r1 = await client.waitForRun(oom.id);
    expect(r1.state.type).toBe("CRASHED");
    expect(r1.state.message).toMatch(/exceeded the 2 GiB memory limit/);
    const died = await run(await deploy("died", { FAKE_BEHAVIOUR: "exit-no-report" }));
    const r2 = await client.waitForRun(died.id);
    expect(r2.state.type).toBe("CRASHED");
    expect(r2.state.message).toMatch(/exited with code 2 without reporting a final state; its last output: ImportError/);
    const logs = (await client.api.listFlowRunLogs({ params: { id: died.id } })).items;
    expect(logs.some((l) => l.source === "fake" && /Traceback/.test(l.message))).toBe(true);
  });

  it("reports a flow that raised as FAILED", async () => {
    const failed = await client.waitForRun((await run(await deploy("raises", { FAKE_BEHAVIOUR: "fail" }))).id);
    expect(failed.state).toMatchObject({ type: "FAILED", message: "ValueError: bad day" });
  });

  it("stops a run at the runtime limit: CRASHED, TimedOut", async () => {
    await setLimits({ max_runtime_seconds: 1 });
    try {
      const slow = await run(await deploy("slow", { FAKE_BEHAVIOUR: "sleep" }));
      await expect.poll(() => runner.instanceOf(slow.id)).toBeDefined();
      const instance = runner.instanceOf(slow.id)!.id;
      const final = await client.waitForRun(slow.id);
      expect(final.state).toMatchObject({ type: "CRASHED", name: "TimedOut" });
      expect(final.state.message).toMatch(/maximum runtime of 1 s/);
      expect(runner.stops.some((s) => s.id === instance && /maximum runtime/.test(s.reason))).toBe(true);
    } finally {
      await setLimits(null);
    }
  });

  it("cancels a running managed run: CANCELLING, the instance is stopped and removed, CANCELLED", async () => {
    const r = await run(await deploy("cancel-me", { FAKE_BEHAVIOUR: "sleep" }));
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: r.id } })).state.type).toBe("RUNNING");
    const instance = runner.instanceOf(r.id)!.id;
    const cancelling = await client.api.cancelFlowRun({ params: { id: r.id }, body: { reason: "wrong day" } });
    expect(cancelling.state.type).toBe("CANCELLING");
    const final = await client.waitForRun(r.id);
    expect(final.state.type).toBe("CANCELLED");
    await expect.poll(() => runner.removed.includes(instance)).toBe(true);
  });

  it("meters compute from the instance's own start and end", async () => {
    const r = await client.waitForRun((await run(await deploy("metered", { FAKE_DURATION_MS: "300" }))).id);
    await expect.poll(() => runner.instanceOf(r.id)).toBeUndefined(); // removed after the exit was read
    const again = await client.api.getFlowRun({ params: { id: r.id } });
    expect(again.compute_seconds).toBeGreaterThan(0.25);
    expect(again.compute_seconds).toBeLessThan(5);
    const quota = await client.api.getQuota();
    expect(quota.usage.compute_seconds).toBeGreaterThanOrEqual(again.compute_seconds);
  });

  it("when the month's hours are spent, refuses new runs and cancels queued ones; a running one finishes", async () => {
    const d = await deploy("budget", { FAKE_DURATION_MS: "600" });
    const running = await run(d);
    const queued = await run(d);
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: running.id } })).state.type).toBe("RUNNING");
    await setLimits({ compute_hours_per_month: 0.0001 });
    try {
      const refused = await rejection(run(d));
      expect(refused.code).toBe("quota_exceeded");
      expect(refused.message).toMatch(/used its 0.0001 managed compute hours for this month/);
      expect((await client.waitForRun(queued.id)).state).toMatchObject({ type: "CANCELLED" });
      expect((await client.api.getFlowRun({ params: { id: queued.id } })).state.message).toMatch(/compute hours/);
      expect((await client.waitForRun(running.id)).state.type).toBe("COMPLETED");
    } finally {
      await setLimits(null);
    }
  });

  it("re-attaches to a run that outlived a server restart and ends it in the right state with its logs", async () => {
    const r = await run(await deploy("survivor", { FAKE_DURATION_MS: "1500" }));
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: r.id } })).state.type).toBe("RUNNING");
    await server.close();
    await restart();
    const final = await client.waitForRun(r.id);
    expect(final.state.type).toBe("COMPLETED");
    const logs = (await client.api.listFlowRunLogs({ params: { id: r.id } })).items.map((l) => l.message);
    expect(logs).toContain("hello from complete");
    expect(runner.launches.filter((l) => l.flowRunId === r.id)).toHaveLength(1);
    expect(final.compute_seconds).toBeGreaterThan(1);
  });
}
