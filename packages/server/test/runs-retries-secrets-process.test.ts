import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryClient, FerryError, type Deployment, type DeploymentApply, type FlowRunCreate } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";
import { makeFlowRepo } from "./support/flow-repo.js";

/**
 * Retries, re-runs, variables and secrets with real flows: the real engine as a child process of the
 * server (the process backend, no Docker), code cloned from a local git repository.
 */
const FLOWS: Record<string, string> = {
  "flows/fail.py": `def fail():
    print("failing on purpose", flush=True)
    raise RuntimeError("always fails")
`,
  "flows/echo.py": `def echo(x: str):
    return {"x": x, "version": 1}
`,
  "flows/env.py": `import os

def show():
    print(f"token is {os.environ['TOKEN']}", flush=True)
    print(f"greeting is {os.environ['GREETING']}", flush=True)
    return {"token_length": len(os.environ["TOKEN"])}
`,
};

const SECRET = "s3cr3t-VALUE-7f9a";

describe("retries, re-runs, variables and secrets with the process backend", () => {
  let home: string;
  let repo: string;
  let server: RunningServer;
  let client: FerryClient;
  let workspaceId: string;

  const deploy = async (name: string, entrypoint: string, extra: Partial<DeploymentApply> = {}): Promise<Deployment> =>
    (
      await client.api.applyDeployment({
        body: { flow_name: "retries", name, work_pool: "managed", source: { git_url: `file://${repo}`, branch: "main" }, entrypoint, ...extra },
      })
    ).deployment;
  const run = async (d: Deployment, body: FlowRunCreate = {}) => (await client.api.createFlowRun({ params: { id: d.id }, body })).flow_run;
  const history = async (id: string) => (await client.api.getFlowRunHistory({ params: { id } })).items.map((s) => s.name);
  const logs = async (id: string) => (await client.api.listFlowRunLogs({ params: { id }, query: { limit: 1000 } })).items.map((l) => l.message).join("\n");

  beforeAll(async () => {
    repo = makeFlowRepo("ferry-retries-repo-", FLOWS);
    home = mkdtempSync(join(tmpdir(), "ferry-retries-"));
    server = await startServer(parseServerConfig({ FERRY_RUNNER: "process" }, { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] }), {
      logStream: process.stderr,
    });
    client = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
    workspaceId = (await client.api.getWorkspace()).id;
    await client.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it("retries a flow that always fails twice, then ends FAILED with three attempts in its history", async () => {
    const d = await deploy("fails", "flows/fail.py:fail", { retries: 2, retry_delay_seconds: 1 });
    expect(d).toMatchObject({ retries: 2, retry_delay_seconds: 1, retry_on_crash: false });
    const created = await run(d);
    expect(created).toMatchObject({ attempt: 1, retries: 2, retry_delay_seconds: 1 });
    const done = await client.waitForRun(created.id);
    expect(done.state.type, done.state.message ?? "").toBe("FAILED");
    expect(done.attempt).toBe(3);
    const names = await history(created.id);
    expect(names.filter((n) => n === "Running")).toHaveLength(3);
    expect(names.filter((n) => n === "AwaitingRetry")).toHaveLength(2);
    expect(names.at(-1)).toBe("Failed");
    const entries = (await client.api.getFlowRunHistory({ params: { id: created.id } })).items.filter((s) => s.name === "AwaitingRetry");
    expect(entries[0]!.message).toMatch(/^attempt 1 of 3 ended Failed: .*always fails.*; attempt 2 starts in 1 s$/s);
    expect(entries[1]!.message).toMatch(/^attempt 2 of 3 ended Failed/);
    expect((await logs(created.id)).match(/failing on purpose/g)).toHaveLength(3);
    expect(done.compute_seconds).toBeGreaterThan(0);
  }, 240_000);

  it("retries a CRASHED run only with retry_on_crash (the run's own override over its deployment's)", async () => {
    const d = await deploy("crashes", "flows/echo.py:missing_function", { retries: 1 });
    const plain = await client.waitForRun((await run(d, { parameters: {} })).id);
    expect(plain.state.type).toBe("CRASHED");
    expect(plain.attempt).toBe(1);
    expect(await history(plain.id)).not.toContain("AwaitingRetry");

    const retried = await client.waitForRun((await run(d, { retry_on_crash: true })).id);
    expect(retried.state.type).toBe("CRASHED");
    expect(retried.attempt).toBe(2);
    expect((await history(retried.id)).filter((n) => n === "AwaitingRetry")).toHaveLength(1);
  }, 240_000);

  it("re-runs a finished run as a new run with the same parameters and the commit the original ran", async () => {
    const d = await deploy("echo", "flows/echo.py:echo");
    const original = await client.waitForRun((await run(d, { parameters: { x: "abc" } })).id);
    expect(original.state.type, original.state.message ?? "").toBe("COMPLETED");
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repo, encoding: "utf8" }).trim();
    expect(original.source_commit).toBe(head);

    // The branch moves on: the re-run still runs the original's code.
    writeFileSync(join(repo, "flows/echo.py"), `def echo(x: str):\n    return {"x": x, "version": 2}\n`);
    execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qam", "v2"], { cwd: repo });

    const again = await client.api.retryFlowRun({ params: { id: original.id } });
    expect(again.created).toBe(true);
    expect(again.flow_run).toMatchObject({ rerun_of: original.id, parameters: { x: "abc" }, source_commit: head, deployment_id: d.id, attempt: 1 });
    expect(again.flow_run.id).not.toBe(original.id);
    const done = await client.waitForRun(again.flow_run.id);
    expect(done.result).toEqual({ x: "abc", version: 1 });

    // A fresh run takes the branch as it is now.
    const fresh = await client.waitForRun((await run(d, { parameters: { x: "new" } })).id);
    expect(fresh.result).toEqual({ x: "new", version: 2 });
  }, 240_000);

  it("refuses to re-run a run that has not finished", async () => {
    const d = await deploy("echo-wait", "flows/echo.py:echo", { paused: true });
    const waiting = await run(d, { parameters: { x: "later" } });
    const error = await client.api.retryFlowRun({ params: { id: waiting.id } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).message).toMatch(/not finished: wait for it to end \(or cancel it\)/);
  });

  it("keeps secrets encrypted and unreturned, hands them to the flow, and masks them in its logs", async () => {
    const set = await client.api.putSecret({ params: { name: "api_token" }, body: { value: SECRET } });
    expect(Object.keys(set).sort()).toEqual(["created_at", "name", "updated_at"]);
    await client.api.putVariable({ params: { name: "greeting" }, body: { value: "hello there" } });
    const listed = await client.api.listSecrets({});
    expect(JSON.stringify(listed)).not.toContain(SECRET);
    expect(listed.items.map((s) => s.name)).toEqual(["api_token"]);
    const [row] = await server.store.getSecrets(workspaceId, ["api_token"]);
    expect(row!.ciphertext).not.toContain(SECRET);
    expect(Buffer.from(row!.ciphertext).includes(Buffer.from(SECRET))).toBe(false);

    // A name that does not exist is refused at deploy time, naming it and the fix.
    const refused = await deploy("env-missing", "flows/env.py:show", { job_variables: { env: { TOKEN: "{{ secret.nope }}" } } }).catch((e: unknown) => e);
    expect((refused as FerryError).message).toMatch(/secret 'nope'.*ferry secret set NAME/);

    const d = await deploy("env", "flows/env.py:show", {
      job_variables: { env: { TOKEN: "{{ secret.api_token }}", GREETING: "{{ var.greeting }}" } },
    });
    const done = await client.waitForRun((await run(d)).id);
    expect(done.state.type, done.state.message ?? "").toBe("COMPLETED");
    expect(done.result).toEqual({ token_length: SECRET.length });
    const text = await logs(done.id);
    expect(text).toContain("token is ***");
    expect(text).toContain("greeting is hello there");
    expect(text).not.toContain(SECRET);
    // Stored job definitions carry the reference, never the value.
    expect(JSON.stringify(done)).not.toContain(SECRET);
    expect(JSON.stringify(done.job_configuration)).toContain("{{ secret.api_token }}");

    // The resolved env is for the run's engine only: an API key is refused.
    const forbidden = await client.api.getFlowRunEnv({ params: { id: done.id } }).catch((e: unknown) => e);
    expect((forbidden as FerryError).code).toBe("forbidden");

    // A secret deleted since the deploy fails the run before its flow starts, naming it.
    await client.api.deleteSecret({ params: { name: "api_token" } });
    const failed = await client.waitForRun((await run(d)).id);
    expect(failed.state.type).toBe("CRASHED");
    expect(failed.state.message).toMatch(/secret 'api_token', which does not exist.*ferry secret set NAME/);
    expect(await logs(failed.id)).not.toContain("token is");
  }, 240_000);
});
