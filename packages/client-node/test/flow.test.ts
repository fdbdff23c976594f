import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryClient } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { connect, flow, FlowRunTimeoutError, runDeployment, writeProfiles } from "../src/index.js";

/** Deploying from TypeScript code and running the deployment, against a real server (process backend, no Docker). */
const FLOWS: Record<string, string> = {
  "flows/report.ts": `export async function build_report(params: { rows: number; title?: string }) {
  console.log("building", params.title ?? "report");
  return { title: params.title ?? "report", total: params.rows * 2 };
}
`,
  "flows/slow.py": `import time

def slow(seconds: float = 60):
    time.sleep(seconds)
`,
};

describe("flow.fromSource().deploy() and runDeployment()", () => {
  let home: string;
  let repo: string;
  let server: RunningServer;
  let client: FerryClient;

  beforeAll(async () => {
    repo = mkdtempSync(join(tmpdir(), "ferry-client-node-repo-"));
    for (const [path, text] of Object.entries(FLOWS)) {
      mkdirSync(join(repo, path, ".."), { recursive: true });
      writeFileSync(join(repo, path), text);
    }
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: repo });
    git("init", "-q", "-b", "main");
    git("add", ".");
    git("commit", "-qm", "flows");
    home = mkdtempSync(join(tmpdir(), "ferry-client-node-"));
    server = await startServer(
      parseServerConfig({ FERRY_RUNNER: "process", FERRY_WARM_ENGINES: "0" }, { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] }),
    );
    client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it("deploys a TypeScript flow whose run reaches COMPLETED, with the parameter schema ferry deploy gives", async () => {
    const sourced = flow.fromSource({ source: `file://${repo}`, entrypoint: "flows/report.ts:build_report" });
    const deployed = await sourced.deploy({ name: "daily", workPoolName: "managed", parameters: { title: "daily", rows: 1 }, schedules: ["0 6 * * *"], client });
    expect(deployed.action).toBe("created");
    expect(deployed.deployment).toMatchObject({ flow_name: "build-report", name: "daily", work_pool: "managed", source: { git_url: `file://${repo}` } });
    expect(deployed.deployment.schedules.map((s) => s.cron)).toEqual(["0 6 * * *"]);
    expect(deployed.deployment.parameter_schema).toMatchObject({ type: "object", properties: { rows: { type: "number" } }, required: ["rows"] });

    const again = await sourced.deploy({ name: "daily", workPoolName: "managed", parameters: { title: "daily", rows: 1 }, schedules: ["0 6 * * *"], client });
    expect(again.action).toBe("unchanged");

    const { flowRun, created } = await runDeployment("build-report/daily", { parameters: { rows: 21 }, client, timeoutMs: 600_000 });
    expect(created).toBe(true);
    expect(flowRun.state.type, flowRun.state.message ?? "").toBe("COMPLETED");
    expect(flowRun.result).toEqual({ title: "daily", total: 42 });
  });

  it("refuses a run whose parameters do not fit the schema, with the server's message", async () => {
    await expect(runDeployment("build-report/daily", { parameters: { rows: "many" }, wait: false, client })).rejects.toMatchObject({
      code: "validation_failed",
      message: expect.stringMatching(/rows/),
    });
  });

  it("returns the same run for the same idempotency key, and refuses it with other parameters", async () => {
    await flow.fromSource({ source: `file://${repo}`, entrypoint: "flows/slow.py:slow" }).deploy({ name: "held", workPoolName: "managed", paused: true, client });
    const first = await runDeployment("slow/held", { idempotencyKey: "k-1", wait: false, client });
    const second = await runDeployment("slow/held", { idempotencyKey: "k-1", wait: false, client });
    expect([first.created, second.created, second.flowRun.id]).toEqual([true, false, first.flowRun.id]);
    await expect(runDeployment("slow/held", { idempotencyKey: "k-1", parameters: { seconds: 1 }, wait: false, client })).rejects.toMatchObject({ code: "conflict" });
    await client.api.cancelFlowRun({ params: { id: first.flowRun.id }, body: {} });
  });

  it("gives up waiting after timeoutMs with the run, which goes on", async () => {
    await flow.fromSource({ source: `file://${repo}`, entrypoint: "flows/slow.py:slow" }).deploy({ name: "slow", workPoolName: "managed", client });
    const error = await runDeployment("slow/slow", { parameters: { seconds: 120 }, timeoutMs: 500, pollIntervalMs: 100, client }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowRunTimeoutError);
    const run = (error as FlowRunTimeoutError).flowRun;
    expect((error as Error).message).toMatch(new RegExp(`^flow run '${run.name}' \\(${run.id}\\) of slow/slow is still \\w+ after 0.5 s`));
    await client.api.cancelFlowRun({ params: { id: run.id }, body: {} });
  });

  it("says how to create a missing work pool, as ferry deploy does, and applies nothing", async () => {
    await expect(
      flow.fromSource({ source: `file://${repo}`, entrypoint: "flows/slow.py:slow" }).deploy({ name: "nowhere", workPoolName: "no-such-pool", client }),
    ).rejects.toMatchObject({
      code: "not_found",
      message: "slow/nowhere: work pool 'no-such-pool' does not exist; create it with 'ferry work-pool create no-such-pool --type ferry:managed'; nothing was applied",
    });
    expect(() => flow.fromSource({ source: "https://u:token@example.com/r.git", entrypoint: "a.py:f" })).toThrow(/contains a password or token/);
    expect(() => flow.fromSource({ source: `file://${repo}`, entrypoint: "flows/slow.py" })).toThrow(/must name a file and a function/);
  });

  it("connects with the CLI's profile, or with FERRY_API_URL and FERRY_API_KEY", async () => {
    const profileHome = mkdtempSync(join(tmpdir(), "ferry-client-node-home-"));
    try {
      await writeProfiles(join(profileHome, "profiles.json"), { active: "local", profiles: { local: { api_url: server.url, api_key: server.bootstrap!.apiKey } } });
      const fromProfile = await connect({ env: { FERRY_HOME: profileHome } });
      expect((await fromProfile.api.getWorkspace()).name).toBe("default");
      const fromEnv = await connect({ env: { FERRY_HOME: join(profileHome, "none"), FERRY_API_URL: server.url, FERRY_API_KEY: server.bootstrap!.apiKey } });
      expect((await fromEnv.api.getWorkspace()).name).toBe("default");
      await expect(connect({ env: { FERRY_HOME: join(profileHome, "none") } })).rejects.toThrow(/the Ferry API URL is not set/);
    } finally {
      rmSync(profileHome, { recursive: true, force: true });
    }
  });
});
