import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ENGINE_IMAGE, FerryClient, type Deployment, type FlowRun } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";
import { docker as dockerService } from "../../../test-support/services.js";
import { makeFlowRepo } from "./support/flow-repo.js";

/**
 * Warm engine containers for real: the engine image, with this checkout's engine bundle mounted over
 * the image's (so the test needs no image rebuild), two workspaces on one server. A run that takes a
 * warm container completes; a warm container of one workspace never runs the other's; none is left
 * once the server stops. It sets no FERRY_WARM_ENGINES: the default is what it checks.
 */
const IMAGE = DEFAULT_ENGINE_IMAGE;
const ENGINE_BUNDLE = fileURLToPath(new URL("../../engine/dist/engine.mjs", import.meta.url));
const docker = new Docker();

const FLOWS: Record<string, string> = {
  "flows/hello.py": `def hello(name: str = "world"):
    print(f"hello {name}", flush=True)
    return {"greeting": f"hello {name}"}
`,
};

describe("warm engine containers", await dockerService({ images: [IMAGE] }), () => {
  let home: string;
  let repo: string;
  let server: RunningServer;
  let closed = false;
  let a: FerryClient;
  let b: FerryClient;
  let workspaceA: string;
  let workspaceB: string;

  const warmContainers = async (workspaceId: string, all = false) =>
    docker.listContainers({ all, filters: { label: ["ferry.warm=true", `ferry.workspace_id=${workspaceId}`] } });
  const deploy = async (client: FerryClient): Promise<Deployment> =>
    (await client.api.applyDeployment({
      body: { flow_name: "warm", name: "hello", work_pool: "managed", source: { git_url: `file://${repo}`, branch: "main" }, entrypoint: "flows/hello.py:hello" },
    })).deployment;
  const runToEnd = async (client: FerryClient, d: Deployment, name: string) =>
    client.waitForRun((await client.api.createFlowRun({ params: { id: d.id }, body: { parameters: { name } } })).flow_run.id, { signal: AbortSignal.timeout(180_000) });
  /** Created → the first line the flow printed, in seconds: printed for the record, never asserted (the bench's job). */
  const firstLineAfter = async (client: FerryClient, run: FlowRun) => {
    const line = (await client.api.listFlowRunLogs({ params: { id: run.id }, query: { limit: 200 } })).items.find((l) => l.source === "flow");
    return line ? ((Date.parse(line.timestamp) - Date.parse(run.created_at)) / 1000).toFixed(2) : "n/a";
  };
  const startedLine = async (client: FerryClient, run: FlowRun) =>
    (await client.api.listFlowRunLogs({ params: { id: run.id }, query: { limit: 200 } })).items.map((l) => l.message).find((m) => m.startsWith("Started on docker")) ?? "";

  beforeAll(async () => {
    expect(existsSync(ENGINE_BUNDLE), "build the engine first (npm run build -w @ferry/engine)").toBe(true);
    home = mkdtempSync(join(tmpdir(), "ferry-warm-docker-"));
    repo = makeFlowRepo("ferry-warm-docker-repo-", FLOWS);
    const env = {
      FERRY_RUNNER: "docker",
      FERRY_RUNNER_NETWORK: "host",
      FERRY_RUNNER_MOUNTS: [`${repo}:${repo}`, `${ENGINE_BUNDLE}:/opt/ferry/engine/engine.mjs`].join(","),
      // No FERRY_WARM_ENGINES: the product's default (one per pool) is what this test runs.
    };
    server = await startServer(parseServerConfig(env, { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] }), { logStream: process.stderr });
    workspaceA = server.bootstrap!.workspaceId;
    a = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
    const admin = new FerryClient({ apiUrl: server.url, adminToken: server.adminToken });
    const created = await admin.api.adminCreateWorkspace({ body: { name: "tenant-b" } });
    workspaceB = created.workspace.id;
    b = new FerryClient({ apiUrl: server.url, apiKey: created.api_key.key });
    await a.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    await b.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
  }, 120_000);

  afterAll(async () => {
    if (!closed) await server?.close();
    for (const ws of [workspaceA, workspaceB].filter(Boolean)) {
      for (const c of await docker.listContainers({ all: true, filters: { label: [`ferry.workspace_id=${ws}`, "ferry.managed=true"] } })) {
        await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      }
      const { Volumes } = await docker.listVolumes({ filters: { label: [`ferry.workspace_id=${ws}`] } });
      for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
    }
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it("hands a workspace's next run its warm container, which completes it; the other workspace's runs never get it", async () => {
    const da = await deploy(a);
    const db = await deploy(b);
    const first = await runToEnd(a, da, "cold");
    expect(first.state.type, first.state.message ?? "").toBe("COMPLETED");
    expect(await startedLine(a, first)).not.toMatch(/warm engine/);
    await expect.poll(async () => (await warmContainers(workspaceA)).length, { timeout: 120_000 }).toBe(1);
    const [warmA] = await warmContainers(workspaceA);

    // Workspace B's first run starts cold, although A's warm container waits: it is not B's.
    const other = await runToEnd(b, db, "other");
    expect(other.state.type, other.state.message ?? "").toBe("COMPLETED");
    expect(await startedLine(b, other)).not.toMatch(/warm engine/);
    expect((await docker.getContainer(warmA!.Id).inspect()).Name).toMatch(/^\/ferry-warm-/);

    const second = await runToEnd(a, da, "warm");
    expect(second.state.type, second.state.message ?? "").toBe("COMPLETED");
    expect(second.result).toEqual({ greeting: "hello warm" });
    expect(await startedLine(a, second)).toMatch(/a warm engine/);
    expect(second.infrastructure_id).toBe(`docker:${warmA!.Id}`);
    console.info(`created → first flow line: cold ${await firstLineAfter(a, first)} s, warm ${await firstLineAfter(a, second)} s`);
    // Every warm container that took a run took one of its own workspace.
    for (const [client, ws] of [[a, workspaceA], [b, workspaceB]] as const) {
      const runs = (await client.api.listFlowRuns({ query: { limit: 50 } })).items;
      for (const run of runs) {
        const id = run.infrastructure_id?.replace(/^docker:/, "");
        const info = id ? await docker.getContainer(id).inspect().catch(() => null) : null;
        if (info) expect(info.Config.Labels["ferry.workspace_id"]).toBe(ws);
      }
    }
  }, 600_000);

  it("leaves no warm container behind when the server stops", async () => {
    await expect.poll(async () => (await warmContainers(workspaceA)).filter((c) => c.Names.some((n) => n.startsWith("/ferry-warm-"))).length, { timeout: 120_000 }).toBe(1);
    closed = true;
    await server.close();
    const left = [...(await warmContainers(workspaceA, true)), ...(await warmContainers(workspaceB, true))].filter((c) => c.Names.some((n) => n.startsWith("/ferry-warm-")));
    expect(left.map((c) => `${c.Names.join(",")} ${c.State}`)).toEqual([]);
  }, 300_000);
});
