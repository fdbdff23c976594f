import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FerryClient, PoolTypeRegistry, type Deployment } from "@ferry/core";
import { rejection } from "@ferry/core/testing";
import { parseServerConfig, startServer, type RunningServer } from "../../src/index.js";
import { freshDatabase, type StoreKind } from "../support/databases.js";

/** What a run's engine and a workspace authenticate with: run tokens, bootstrap tokens, API keys; on `kind`'s store. */
export function keysSuite(kind: StoreKind): void {
  let home: string;
  let db: Awaited<ReturnType<typeof freshDatabase>> | null = null;
  let server: RunningServer;
  let client: FerryClient;
  let anonymous: FerryClient;
  let deployment: Deployment;
  /** The server's clock runs this far ahead of the real one: bootstrap tokens expire by it. */
  let skewMs = 0;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "ferry-keys-"));
    db = kind === "postgres" ? await freshDatabase() : null;
    // No runner: runs wait in SCHEDULED, and the test acts as their engine.
    const config = parseServerConfig({}, { home, port: 0, databaseUrl: db?.url ?? null, store: "pglite", logLevel: "warn", providers: [], sweepIntervalMs: 600_000 });
    server = await startServer(config, { registry: new PoolTypeRegistry(), runner: null, now: () => new Date(Date.now() + skewMs) });
    client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
    anonymous = new FerryClient({ apiUrl: server.url });
    await new FerryClient({ apiUrl: server.url, adminToken: server.adminToken }).api.adminUpdateWorkspace({
      params: { id: server.bootstrap!.workspaceId },
      body: { tier: "pro" },
    });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    deployment = (
      await client.api.applyDeployment({
        body: { flow_name: "etl", name: "tokens", work_pool: "managed", source: { git_url: "https://github.com/acme/flows.git" }, entrypoint: "flows/etl.py:etl" },
      })
    ).deployment;
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
    rmSync(home, { recursive: true, force: true });
  });

  const newRun = async () => (await client.api.createFlowRun({ params: { id: deployment.id }, body: {} })).flow_run;

  it("stops a run token working once its run has ended", async () => {
    const run = await newRun();
    const engine = new FerryClient({ apiUrl: server.url, apiKey: await server.issueRunToken(run.id) }).api;
    expect((await engine.getFlowRun({ params: { id: run.id } })).id).toBe(run.id);
    await client.api.setFlowRunState({ params: { id: run.id }, body: { type: "PENDING" } });
    await engine.setFlowRunState({ params: { id: run.id }, body: { type: "RUNNING" } });
    await engine.writeFlowRunLogs({ params: { id: run.id }, body: { logs: [{ message: "working" }] } });
    await engine.setFlowRunState({ params: { id: run.id }, body: { type: "COMPLETED", result: 1 } });

    for (const call of [
      () => engine.getFlowRun({ params: { id: run.id } }),
      () => engine.writeFlowRunLogs({ params: { id: run.id }, body: { logs: [{ message: "after the end" }] } }),
      () => engine.getFlowRunSource({ params: { id: run.id } }),
      () => engine.getDeployment({ params: { id: deployment.id } }),
    ]) {
      const refused = await rejection(call());
      expect(refused.status).toBe(401);
      expect(refused.message).toMatch(new RegExp(`flow run ${run.id} has ended \\(COMPLETED\\)`));
    }
    const logs = (await client.api.listFlowRunLogs({ params: { id: run.id } })).items.map((l) => l.message);
    expect(logs).toContain("working");
    expect(logs).not.toContain("after the end");
  });

  it("stops a run token working once its run is cancelled from outside", async () => {
    const run = await newRun();
    const engine = new FerryClient({ apiUrl: server.url, apiKey: await server.issueRunToken(run.id) }).api;
    expect((await engine.getFlowRun({ params: { id: run.id } })).state.type).toBe("SCHEDULED");
    expect((await client.api.cancelFlowRun({ params: { id: run.id }, body: {} })).state.type).toBe("CANCELLED");
    expect((await rejection(engine.setFlowRunState({ params: { id: run.id }, body: { type: "RUNNING" } }))).message).toMatch(/has ended \(CANCELLED\)/);
  });

  it("exchanges a bootstrap token for a working run token once; a second exchange is refused and written into the run's log", async () => {
    const run = await newRun();
    const bootstrap = await server.issueBootstrapToken(run.id);
    expect(bootstrap).toMatch(/^frb_/);
    // The bootstrap token itself is no credential for the run's routes.
    expect((await rejection(new FerryClient({ apiUrl: server.url, apiKey: bootstrap }).api.getFlowRun({ params: { id: run.id } }))).status).toBe(401);

    const exchanged = await anonymous.api.exchangeRunBootstrapToken({ body: { bootstrap_token: bootstrap } });
    expect(exchanged.flow_run_id).toBe(run.id);
    expect(exchanged.run_token).toMatch(/^frt_/);
    expect(Date.parse(exchanged.expires_at)).toBeGreaterThan(Date.now() + 3600_000);
    const engine = new FerryClient({ apiUrl: server.url, apiKey: exchanged.run_token }).api;
    expect((await engine.getFlowRun({ params: { id: run.id } })).id).toBe(run.id);

    const again = await rejection(anonymous.api.exchangeRunBootstrapToken({ body: { bootstrap_token: bootstrap } }));
    expect(again.status).toBe(401);
    expect(again.message).toMatch(/exchanged already/);
    const logs = (await client.api.listFlowRunLogs({ params: { id: run.id } })).items;
    expect(logs.some((l) => l.level === "warning" && l.source === "ferry" && /second exchange of this run's bootstrap token was refused/.test(l.message))).toBe(true);
    // The run token got by the first exchange keeps working.
    expect((await engine.getFlowRun({ params: { id: run.id } })).id).toBe(run.id);
    // The operator sees it too.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/ferry_run_bootstrap_refusals_total\{reason="used"\} [1-9]/);
  });

  it("lets only one of two simultaneous exchanges win", async () => {
    const run = await newRun();
    const bootstrap = await server.issueBootstrapToken(run.id);
    const results = await Promise.allSettled([1, 2, 3].map(() => anonymous.api.exchangeRunBootstrapToken({ body: { bootstrap_token: bootstrap } })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  it("refuses an expired bootstrap token, a made-up one, and one whose run has ended", async () => {
    const run = await newRun();
    const bootstrap = await server.issueBootstrapToken(run.id);
    skewMs = 16 * 60_000;
    try {
      const expired = await rejection(anonymous.api.exchangeRunBootstrapToken({ body: { bootstrap_token: bootstrap } }));
      expect(expired.status).toBe(401);
      expect(expired.message).toMatch(/has expired: the engine must exchange it within 15 minutes/);
    } finally {
      skewMs = 0;
    }

    const madeUp = await rejection(anonymous.api.exchangeRunBootstrapToken({ body: { bootstrap_token: `frb_${"A".repeat(43)}` } }));
    expect(madeUp.message).toMatch(/not valid/);
    expect((await rejection(anonymous.api.exchangeRunBootstrapToken({ body: { bootstrap_token: "fy_not-even-a-bootstrap-token" } }))).status).toBe(401);

    const ended = await newRun();
    const late = await server.issueBootstrapToken(ended.id);
    await client.api.cancelFlowRun({ params: { id: ended.id }, body: {} });
    expect((await rejection(anonymous.api.exchangeRunBootstrapToken({ body: { bootstrap_token: late } }))).message).toMatch(/has ended \(CANCELLED\)/);
  });

  it("refuses to delete a workspace's last API key, saying to create another first", async () => {
    const admin = new FerryClient({ apiUrl: server.url, adminToken: server.adminToken });
    const { api_key: first } = await admin.api.adminCreateWorkspace({ body: { name: "one-key" } });
    const owner = new FerryClient({ apiUrl: server.url, apiKey: first.key });

    const refused = await rejection(owner.api.deleteApiKey({ params: { id: first.id } }));
    expect(refused.status).toBe(409);
    expect(refused.code).toBe("conflict");
    expect(refused.message).toMatch(/last key: create another first \('ferry api-key create NAME'\)/);
    expect((await owner.api.listApiKeys()).items.map((k) => k.id)).toEqual([first.id]);

    const second = await owner.api.createApiKey({ body: { name: "second" } });
    expect(await owner.api.deleteApiKey({ params: { id: first.id } })).toEqual({ deleted: true });
    const withSecond = new FerryClient({ apiUrl: server.url, apiKey: second.key });
    expect((await rejection(withSecond.api.deleteApiKey({ params: { id: second.id } }))).status).toBe(409);
    expect((await withSecond.api.listApiKeys()).items.map((k) => k.id)).toEqual([second.id]);
    // A key already deleted is "not found", not "last key".
    expect((await rejection(withSecond.api.deleteApiKey({ params: { id: first.id } }))).code).toBe("not_found");
  });
}
