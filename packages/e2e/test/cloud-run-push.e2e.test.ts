import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { clientPluginModules, loadClientPlugins } from "@ferry/client-node";
import { DEFAULT_ENGINE_IMAGE, FerryClient, type BaseJobTemplate, type Deployment, type FlowRun, type ProvisionResult, type ProvisionStep } from "@ferry/core";
import { NEW_PROJECT_SERVICES, startGcpLocal, type CallRecord, type GcpLocal } from "@ferry/gcp-local";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker as dockerService } from "../../../test-support/services.js";
import { serveRepo, type ServedRepo } from "./support/git-server.js";

/**
 * The `cloud-run:push` path end to end: a server that loads @ferry/provider-gcp (FERRY_PROVIDERS), an
 * empty project provisioned by the provider's client plugin found the way the CLI finds it (the server's
 * pool type names its plugin; `<plugin>/client` is loaded) with the user's application default
 * credentials (gcp-local's project owner), and Cloud Run executions that are real containers of the
 * engine image (gcp-local runs them on the host network, so the engine reaches the server at 127.0.0.1).
 * Every Cloud Run call of push execution is signed by the provisioned service account's key.
 */
const IMAGE = DEFAULT_ENGINE_IMAGE;
const POOL = "gcr";

/** The GitHub Action's committed bundle, started as a runner starts it. */
const ACTION_BUNDLE = fileURLToPath(new URL("../../../apps/github-action/dist/index.js", import.meta.url));

const FLOWS: Record<string, string> = {
  "ferry.yaml": `deployments:
  - name: ok
    flow_name: hello
    entrypoint: flows/hello.py:main
    work_pool: { name: ${POOL} }
`,
  "flows/hello.py": `def main(name: str = "world"):
    print(f"hello {name}", flush=True)
    return {"greeting": f"hello {name}", "length": len(name)}
`,
  "flows/raises.py": `def main():
    raise ValueError("bad day")
`,
  "flows/sleepy.py": `import time

def main(seconds: int = 600):
    print("sleeping", flush=True)
    time.sleep(seconds)
    return {"slept": seconds}
`,
};

describe("cloud-run:push end to end against gcp-local", await dockerService({ images: [IMAGE] }), () => {
  let gcp: GcpLocal;
  let repo: ServedRepo;
  let home: string;
  let server: RunningServer | undefined;
  let port = 0;
  let apiKey = "";
  let client: FerryClient;
  let provisioned: ProvisionResult;
  let plan: ProvisionStep[];
  let pluginOptions: Record<string, unknown>;

  const start = async (onPort: number) => {
    const config = parseServerConfig(
      { FERRY_PROVIDERS: "@ferry/provider-gcp", FERRY_PROVIDER_OPTIONS: JSON.stringify({ "@ferry/provider-gcp": pluginOptions }), FERRY_RUNNER: "none" },
      { home, port: onPort, databaseUrl: null, logLevel: "warn" },
    );
    server = await startServer(config, { logStream: process.stderr });
    port = Number(new URL(server.url).port);
    if (server.bootstrap) apiKey = server.bootstrap.apiKey;
    client = new FerryClient({ apiUrl: server.url, apiKey });
  };

  const poolAccount = () => String(provisioned.credentials?.data.client_email);
  const project = () => gcp.projectId;
  const jobOf = (run: Pick<FlowRun, "id">) => `projects/${project()}/locations/us-central1/jobs/ferry-${run.id}`;
  const callsSince = (since: number, filter: Partial<CallRecord> = {}) =>
    gcp.calls().slice(since).filter((c) => Object.entries(filter).every(([k, v]) => (c as unknown as Record<string, unknown>)[k] === v));
  const executionsOf = (run: Pick<FlowRun, "id">) => gcp.snapshot().executions.filter((e) => e.startsWith(`${jobOf(run)}/executions/`));

  const deploy = async (name: string, entrypoint: string, jobVariables: Record<string, unknown> = {}, parameters: Record<string, unknown> = {}): Promise<Deployment> =>
    (
      await client.api.applyDeployment({
        body: { flow_name: "e2e", name, work_pool: POOL, source: { git_url: repo.url, branch: "main" }, entrypoint, parameters, job_variables: { image: IMAGE, ...jobVariables } },
      })
    ).deployment;

  const runOf = async (d: Deployment, body: { parameters?: Record<string, unknown>; job_variables?: Record<string, unknown> } = {}) =>
    (await client.api.createFlowRun({ params: { id: d.id }, body })).flow_run;

  const logsOf = async (id: string) => (await client.api.listFlowRunLogs({ params: { id }, query: { limit: 1000 } })).items.map((l) => l.message).join("\n");

  beforeAll(async () => {
    // An empty project: Cloud Run, Artifact Registry and IAM are off until provisioning enables them.
    gcp = await startGcpLocal({ enabledServices: NEW_PROJECT_SERVICES, stopGraceSeconds: 2 });
    if (gcp.runtimeUnavailable) throw new Error(`gcp-local cannot run executions: ${gcp.runtimeUnavailable}`);
    pluginOptions = { apiEndpoint: gcp.apiEndpoint, port: gcp.grpcPort, caPem: gcp.caPem, restUrl: gcp.httpUrl, jobCleanupIntervalMs: 500 };
    repo = await serveRepo(FLOWS);
    home = mkdtempSync(join(tmpdir(), "ferry-cloud-run-push-"));
    await start(0);

    // What `ferry work-pool create gcr --type cloud-run:push --provision-infra` does (apps/cli), with the
    // user's application default credentials (GOOGLE_APPLICATION_CREDENTIALS) read by google-auth-library.
    const { items } = await client.api.listWorkPoolTypes();
    const type = items.find((t) => t.type === "cloud-run:push");
    if (!type) throw new Error(`the server has no cloud-run:push pool type (types: ${items.map((t) => t.type).join(", ")})`);
    expect(type.plugin).toBe("@ferry/provider-gcp");
    const plugins = await loadClientPlugins(clientPluginModules({ poolTypes: items }), { cwd: process.cwd(), options: { "@ferry/provider-gcp": pluginOptions } });
    const provisioner = plugins.provisioner("cloud-run:push", type.plugin);
    const input = {
      poolName: POOL,
      options: {},
      hasCredentials: false,
      saveCredentials: async (credentials: { type: string; data: Record<string, string> }) => {
        await client.api.createCredentials({ body: { name: `${POOL}-gcp`, type: credentials.type, data: credentials.data } });
      },
    };
    const adc = join(home, "adc.json");
    writeFileSync(adc, JSON.stringify(gcp.ownerKey), { mode: 0o600 });
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = adc;
    try {
      plan = await provisioner.plan(input);
      provisioned = await provisioner.apply(input, () => undefined);
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
    }
    const template: BaseJobTemplate = structuredClone(type.default_base_job_template);
    for (const [key, value] of Object.entries(provisioned.jobVariableDefaults)) {
      const variable = template.variables.properties[key];
      if (!variable) throw new Error(`provisioning gave a default for '${key}', which the template has no variable for`);
      template.variables.properties[key] = { ...variable, default: value };
    }
    await client.api.createWorkPool({ body: { name: POOL, type: "cloud-run:push", base_job_template: template, credentials: `${POOL}-gcp` } });
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    // Closing gcp-local removes the executions' containers.
    await gcp?.close();
    await repo?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("provisions the empty project through the provider's client plugin: credentials '<pool>-gcp', the project as a default", async () => {
    expect(plan.map((s) => [s.id, s.action])).toEqual([
      ["services", "create"],
      ["service-account", "create"],
      ["iam-roles", "create"],
      ["key", "create"],
      ["repository", "create"],
    ]);
    expect(provisioned.credentials?.type).toBe("gcp");
    expect(poolAccount()).toBe(`ferry-cloud-run@${project()}.iam.gserviceaccount.com`);
    expect(provisioned.jobVariableDefaults).toEqual({ project: project(), region: "us-central1" });
    const pool = await client.api.getWorkPool({ params: { name: POOL } });
    expect(pool.credentials).toBe(`${POOL}-gcp`);
  });

  it("runs a Python flow to COMPLETED with its result and streamed logs, on an execution started with the pool's key", async () => {
    const since = gcp.calls().length;
    const d = await deploy("hello", "flows/hello.py:main", { keep_job: true }, { name: "ferry" });
    const run = await client.waitForRun((await runOf(d)).id);
    expect(run.state.type, `${run.state.message ?? ""}\n${await logsOf(run.id)}`).toBe("COMPLETED");
    expect(run.result).toEqual({ greeting: "hello ferry", length: 5 });
    expect(await logsOf(run.id)).toContain("hello ferry");
    expect(run.infrastructure_id).toMatch(new RegExp(`^${jobOf(run)}/executions/`));
    expect(executionsOf(run)).toEqual([run.infrastructure_id]);
    const runJobs = callsSince(since, { service: "Jobs", method: "RunJob" });
    expect(runJobs).toHaveLength(1);
    expect(runJobs[0]).toMatchObject({ principal: poolAccount(), status: "OK" });
    expect(new Set(callsSince(since).filter((c) => ["Jobs", "Executions", "Tasks"].includes(c.service)).map((c) => c.principal))).toEqual(new Set([poolAccount()]));
  }, 180_000);

  it("reports a flow that raises as FAILED with the traceback in its logs", async () => {
    const run = await client.waitForRun((await runOf(await deploy("raises", "flows/raises.py:main"))).id);
    expect(run.state.type, run.state.message ?? "").toBe("FAILED");
    expect(run.state.message).toMatch(/ValueError: bad day/);
    expect(await logsOf(run.id)).toMatch(/Traceback \(most recent call last\)/);
    // Its job was deleted once the run ended (keep_job is false).
    await expect.poll(() => gcp.snapshot().jobs.includes(jobOf(run)), { timeout: 30_000 }).toBe(false);
  }, 180_000);

  it("crashes a run whose image cannot be pulled, with Cloud Run's reason", async () => {
    const since = gcp.calls().length;
    const d = await deploy("hello-bad-image", "flows/hello.py:main");
    const run = await client.waitForRun((await runOf(d, { job_variables: { image: "ferry-nonexistent:latest" } })).id);
    expect(run.state.type, run.state.message ?? "").toBe("CRASHED");
    expect(run.state.message).toMatch(/the image could not be pulled: Image 'ferry-nonexistent:latest' not found/);
    expect(callsSince(since, { service: "Jobs", method: "RunJob", status: "OK" })).toEqual([]);
  }, 180_000);

  it("crashes a run whose container dies before its engine reports, copying the last lines Cloud Logging kept into the run's logs", async () => {
    const since = gcp.calls().length;
    const d = await deploy("dies", "flows/hello.py:main");
    const run = await client.waitForRun((await runOf(d, { job_variables: { command: ["sh", "-c", "echo installing; echo out of luck >&2; exit 3"] } })).id);
    expect(run.state.type, run.state.message ?? "").toBe("CRASHED");
    const logs = await logsOf(run.id);
    expect(logs).toContain("installing");
    expect(logs).toContain("out of luck");
    // Read with the pool's key (roles/logging.viewer), before the job was deleted.
    const reads = callsSince(since, { service: "LoggingServiceV2", method: "ListLogEntries" });
    expect(reads.map((c) => [c.principal, c.status])).toContainEqual([poolAccount(), "OK"]);
    const readAt = gcp.calls().indexOf(reads[0]!);
    const deleteAt = gcp.calls().findIndex((c, i) => i > since && c.method === "DeleteJob" && c.resource === jobOf(run));
    expect(deleteAt).toBeGreaterThan(readAt);
  }, 180_000);

  it("cancels a running run: its execution is cancelled with CancelExecution and the run is CANCELLED", async () => {
    const d = await deploy("sleepy", "flows/sleepy.py:main", { keep_job: true });
    const created = await runOf(d);
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: created.id } })).state.type, { timeout: 120_000 }).toBe("RUNNING");
    const since = gcp.calls().length;
    expect((await client.api.cancelFlowRun({ params: { id: created.id }, body: {} })).state.type).toBe("CANCELLING");
    const final = await client.waitForRun(created.id);
    expect(final.state.type, final.state.message ?? "").toBe("CANCELLED");
    expect(callsSince(since, { service: "Executions", method: "CancelExecution", principal: poolAccount(), status: "OK" }).length).toBeGreaterThanOrEqual(1);
  }, 240_000);

  it("retries a 429 on RunJob that came after the execution started; the run completes with one execution", async () => {
    const since = gcp.calls().length;
    gcp.injectFault({ service: "Jobs", method: "RunJob", code: "RESOURCE_EXHAUSTED", message: "Rate exceeded.", after: true });
    const d = await deploy("throttled", "flows/hello.py:main", { keep_job: true }, { name: "again" });
    const run = await client.waitForRun((await runOf(d)).id);
    expect(run.state.type, `${run.state.message ?? ""}\n${await logsOf(run.id)}`).toBe("COMPLETED");
    expect(gcp.faults()).toEqual([]);
    expect(callsSince(since, { service: "Jobs", method: "RunJob" }).map((c) => c.status)).toEqual(["RESOURCE_EXHAUSTED"]);
    expect(executionsOf(run)).toEqual([run.infrastructure_id]);
  }, 180_000);

  it("starts one execution, not two, when the server stops after Cloud Run started it and before the server recorded it", async () => {
    const d = await deploy("restart", "flows/hello.py:main", { keep_job: true }, { name: "restart" });
    const since = gcp.calls().length;
    // Cloud Run starts the execution but its answer is lost, and the server cannot look it up either: it
    // is still submitting when it stops.
    gcp.injectFault({ service: "Jobs", method: "RunJob", code: "UNAVAILABLE", message: "connection reset", after: true });
    gcp.injectFault({ service: "Executions", method: "ListExecutions", code: "UNAVAILABLE", message: "connection reset", times: 1000 });
    const created = await runOf(d);
    await expect.poll(() => callsSince(since, { service: "Jobs", method: "RunJob" }).length, { timeout: 60_000 }).toBe(1);
    await server!.close();
    server = undefined;
    const stopped = await new FerryClient({ apiUrl: `http://127.0.0.1:${port}`, apiKey }).api.getFlowRun({ params: { id: created.id } }).catch(() => null);
    expect(stopped).toBeNull();
    gcp.clearFaults();
    expect(executionsOf(created)).toHaveLength(1);

    await start(port);
    const final = await client.waitForRun(created.id);
    expect(final.state.type, `${final.state.message ?? ""}\n${await logsOf(created.id)}`).toBe("COMPLETED");
    expect(final.result).toEqual({ greeting: "hello restart", length: 7 });
    // The new server found the job and its execution: no second RunJob, one execution.
    expect(callsSince(since, { service: "Jobs", method: "RunJob" })).toHaveLength(1);
    expect(executionsOf(created)).toEqual([final.infrastructure_id]);
    const history = (await client.api.getFlowRunHistory({ params: { id: created.id } })).items.map((s) => s.name);
    expect(history.filter((n) => n === "Submitting")).toHaveLength(1);
  }, 240_000);

  it("the GitHub Action deploys ferry.yaml to the pool and runs it to COMPLETED, with no change of its own", async () => {
    // The workflow's repository, served where GITHUB_SERVER_URL/GITHUB_REPOSITORY points (the engine clones it).
    const served = join(dirname(repo.dir), "owner", "repo");
    execFileSync("git", ["clone", "-q", repo.dir, served]);
    const sha = execFileSync("git", ["rev-parse", "HEAD"], { cwd: served }).toString().trim();
    const origin = new URL(repo.url).origin;
    const outputs = join(home, "action-output");
    const step = async (inputs: Record<string, string>) => {
      writeFileSync(outputs, "");
      const env = {
        PATH: process.env.PATH ?? "",
        HOME: home,
        NO_COLOR: "1",
        GITHUB_SERVER_URL: origin,
        GITHUB_REPOSITORY: "owner/repo",
        GITHUB_SHA: sha,
        GITHUB_WORKSPACE: served,
        GITHUB_RUN_ID: "7",
        GITHUB_RUN_ATTEMPT: "1",
        GITHUB_EVENT_NAME: "push",
        GITHUB_API_URL: "http://127.0.0.1:9",
        GITHUB_OUTPUT: outputs,
        GITHUB_STEP_SUMMARY: join(home, "action-summary"),
        ...Object.fromEntries(Object.entries({ "api-url": server!.url, "api-key": apiKey, ...inputs }).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
      };
      const result = await promisify(execFile)(process.execPath, [ACTION_BUNDLE], { env, cwd: served, timeout: 170_000 }).catch((e: { stdout?: string; stderr?: string }) => e);
      const text = readFileSync(outputs, "utf8");
      const read = Object.fromEntries([...text.matchAll(/^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)].map((m) => [m[1]!, m[3]!]));
      return { outputs: read, log: `${result.stdout ?? ""}${result.stderr ?? ""}` };
    };
    const deployed = await step({ command: "deploy" });
    expect(JSON.parse(deployed.outputs["deployment-ids"] ?? "[]"), deployed.log).toHaveLength(1);
    const ran = await step({ command: "run", deployment: "hello/ok", parameters: "name: action", timeout: "150" });
    expect(ran.outputs.state, ran.log).toBe("COMPLETED");
    const run = await client.api.getFlowRun({ params: { id: ran.outputs["flow-run-id"]! } });
    expect(run.result).toEqual({ greeting: "hello action", length: 6 });
    expect(run.infrastructure_id).toMatch(new RegExp(`^${jobOf(run)}/executions/`));
  }, 180_000);
});
