import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startAzureLocal, type AzureLocal, type CallRecord } from "@ferry/azure-local";
import { clientPluginModules, loadClientPlugins } from "@ferry/client-node";
import { DEFAULT_ENGINE_IMAGE, FerryClient, type BaseJobTemplate, type Deployment, type FlowRun, type ProvisionResult, type ProvisionStep } from "@ferry/core";
import { parseServerConfig, startServer, type RunningServer } from "@ferry/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker as dockerService } from "../../../test-support/services.js";
import { serveRepo, type ServedRepo } from "./support/git-server.js";

/**
 * The `azure-container-instance:push` path end to end: a server that loads @ferry/provider-azure
 * (FERRY_PROVIDERS), the infrastructure made by the provider's client plugin found the way the CLI
 * finds it, with the user's own identity (DefaultAzureCredential's environment credential), the pool
 * created as `ferry work-pool create --provision-infra` creates it, and container groups that are real
 * containers of the engine image (azure-local runs them on the host network, so the engine reaches the
 * server at 127.0.0.1). Every ACI call of push execution is made with the provisioned service principal.
 */
const IMAGE = DEFAULT_ENGINE_IMAGE;
const POOL = "aci";
const TYPE = "azure-container-instance:push";

/** The GitHub Action's committed bundle, started as a runner starts it. */
const ACTION_BUNDLE = fileURLToPath(new URL("../../../apps/github-action/dist/index.js", import.meta.url));

const FLOWS: Record<string, string> = {
  "ferry.yaml": `deployments:
  - name: ok
    flow_name: hello
    entrypoint: flows/hello.py:main
    work_pool: { name: aci }
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

describe("azure-container-instance:push end to end against azure-local", await dockerService({ images: [IMAGE] }), () => {
  let azure: AzureLocal;
  let repo: ServedRepo;
  let home: string;
  let server: RunningServer;
  let port = 0;
  let apiKey = "";
  let client: FerryClient;
  let provisioned: ProvisionResult;
  let plan: ProvisionStep[];

  const providerOptions = () => ({ "@ferry/provider-azure": { endpoint: azure.url, authorityHost: azure.url, graphEndpoint: azure.url, caPem: azure.caPem } });

  const start = async (onPort: number) => {
    const config = parseServerConfig(
      { FERRY_PROVIDERS: "@ferry/provider-azure", FERRY_PROVIDER_OPTIONS: JSON.stringify(providerOptions()), FERRY_RUNNER: "none" },
      { home, port: onPort, databaseUrl: null, logLevel: "warn" },
    );
    server = await startServer(config, { logStream: process.stderr });
    port = Number(new URL(server.url).port);
    if (server.bootstrap) apiKey = server.bootstrap.apiKey;
    client = new FerryClient({ apiUrl: server.url, apiKey });
  };

  /** The pool's service principal (its app id): every call push execution makes is made with it. */
  const poolPrincipal = () => String(provisioned.credentials?.data.client_id);
  const callsSince = (since: number, filter: Partial<CallRecord> = {}) =>
    azure.calls().slice(since).filter((c) => Object.entries(filter).every(([k, v]) => (c as unknown as Record<string, unknown>)[k] === v));
  const groupName = (run: FlowRun) => (run.infrastructure_id ?? "").slice((run.infrastructure_id ?? "").lastIndexOf("/") + 1);
  const callsOnGroup = (since: number, name: string, operation: string) => callsSince(since, { operation }).filter((c) => c.path.includes(`/containerGroups/${name}`));

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
    azure = await startAzureLocal({ stopGraceSeconds: 2 });
    if (azure.runtimeUnavailable) throw new Error(`azure-local cannot run container groups: ${azure.runtimeUnavailable}`);
    repo = await serveRepo(FLOWS);
    home = mkdtempSync(join(tmpdir(), "ferry-aci-push-"));
    await start(0);

    // What `ferry work-pool create aci --type azure-container-instance:push --provision-infra` does.
    const { items } = await client.api.listWorkPoolTypes();
    const type = items.find((t) => t.type === TYPE);
    if (!type) throw new Error(`the server has no ${TYPE} pool type (types: ${items.map((t) => t.type).join(", ")})`);
    expect(type.plugin).toBe("@ferry/provider-azure");
    const userIdentity = {
      AZURE_TENANT_ID: azure.tenantId,
      AZURE_CLIENT_ID: azure.ownerCredential.clientId,
      AZURE_CLIENT_SECRET: azure.ownerCredential.clientSecret,
      AZURE_SUBSCRIPTION_ID: azure.subscriptionId,
    };
    const saved = Object.fromEntries(Object.keys(userIdentity).map((k) => [k, process.env[k]]));
    Object.assign(process.env, userIdentity);
    try {
      const plugins = await loadClientPlugins(clientPluginModules({ poolTypes: items }), { cwd: process.cwd(), options: providerOptions() });
      const provisioner = plugins.provisioner(TYPE, type.plugin);
      const input = {
        poolName: POOL,
        options: {},
        hasCredentials: false,
        saveCredentials: async (credentials: { type: string; data: Record<string, string> }) => {
          await client.api.createCredentials({ body: { name: `${POOL}-azure`, type: credentials.type, data: credentials.data } });
        },
      };
      plan = await provisioner.plan(input);
      provisioned = await provisioner.apply(input, () => undefined);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const template: BaseJobTemplate = structuredClone(type.default_base_job_template);
    for (const [key, value] of Object.entries(provisioned.jobVariableDefaults)) {
      const variable = template.variables.properties[key];
      if (!variable) throw new Error(`the provisioner set '${key}', which is no job variable of ${TYPE}`);
      template.variables.properties[key] = { ...variable, default: value };
    }
    await client.api.createWorkPool({ body: { name: POOL, type: TYPE, base_job_template: template, credentials: `${POOL}-azure` } });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    // Closing azure-local removes the groups' containers.
    await azure?.close();
    await repo?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("provisions through the provider's client plugin: credentials '<pool>-azure' of a new service principal, the template wired to the registry", () => {
    expect(plan.every((s) => s.action === "create")).toBe(true);
    expect(provisioned.credentials).toMatchObject({ type: "azure", data: { tenant_id: azure.tenantId, subscription_id: azure.subscriptionId } });
    expect(poolPrincipal()).not.toBe(azure.ownerCredential.clientId);
    expect(provisioned.jobVariableDefaults).toMatchObject({ resource_group_name: "ferry-aci-push-pool-rg", image_registry: { identity: expect.stringMatching(/ferry-acr-identity$/) } });
  });

  it("runs a Python flow to COMPLETED with its result and logs, in a group the pool's principal made, read and deleted", async () => {
    const since = azure.calls().length;
    const d = await deploy("hello", "flows/hello.py:main", {}, { name: "ferry" });
    const run = await client.waitForRun((await runOf(d)).id);
    expect(run.state.type, `${run.state.message ?? ""}\n${await logsOf(run.id)}`).toBe("COMPLETED");
    expect(run.result).toEqual({ greeting: "hello ferry", length: 5 });
    expect(await logsOf(run.id)).toContain("hello ferry");
    expect(run.infrastructure_id).toMatch(new RegExp(`/resourceGroups/ferry-aci-push-pool-rg/providers/Microsoft.ContainerInstance/containerGroups/ferry-${run.id}$`));
    const name = groupName(run);
    const puts = callsOnGroup(since, name, "ContainerGroups_CreateOrUpdate");
    expect(puts.map((c) => [c.principal, c.status])).toEqual([[poolPrincipal(), 201]]);
    // The group is deleted once the run ended (its output read first).
    await expect.poll(() => callsOnGroup(since, name, "ContainerGroups_Delete").length, { timeout: 30_000 }).toBeGreaterThan(0);
    const ops = callsSince(since).filter((c) => c.path.includes(`/containerGroups/${name}`)).map((c) => c.operation);
    expect(ops.indexOf("Containers_ListLogs")).toBeLessThan(ops.indexOf("ContainerGroups_Delete"));
    expect(new Set(callsSince(since).filter((c) => c.path.includes("/containerGroups/")).map((c) => c.principal))).toEqual(new Set([poolPrincipal()]));
  }, 180_000);

  it("reports a flow that raises as FAILED with the traceback in its logs", async () => {
    const run = await client.waitForRun((await runOf(await deploy("raises", "flows/raises.py:main"))).id);
    expect(run.state.type, run.state.message ?? "").toBe("FAILED");
    expect(run.state.message).toMatch(/ValueError: bad day/);
    expect(await logsOf(run.id)).toMatch(/Traceback \(most recent call last\)/);
  }, 180_000);

  it("crashes a run whose image cannot be pulled, with Azure's reason", async () => {
    const d = await deploy("hello-bad-image", "flows/hello.py:main");
    const run = await client.waitForRun((await runOf(d, { job_variables: { image: "ferry-nonexistent:latest" } })).id);
    expect(run.state.type, run.state.message ?? "").toBe("CRASHED");
    expect(run.state.message).toMatch(/the image could not be pulled/);
    expect(run.state.message).toContain("ferry-nonexistent:latest");
  }, 180_000);

  it("cancels a running run: its group is stopped then deleted, and the run is CANCELLED", async () => {
    const d = await deploy("sleepy", "flows/sleepy.py:main");
    const created = await runOf(d);
    await expect.poll(async () => (await client.api.getFlowRun({ params: { id: created.id } })).state.type, { timeout: 120_000 }).toBe("RUNNING");
    const since = azure.calls().length;
    expect((await client.api.cancelFlowRun({ params: { id: created.id }, body: {} })).state.type).toBe("CANCELLING");
    const final = await client.waitForRun(created.id);
    expect(final.state.type, final.state.message ?? "").toBe("CANCELLED");
    const name = groupName(final);
    const ops = callsSince(since, { principal: poolPrincipal() }).filter((c) => c.path.includes(`/containerGroups/${name}`)).map((c) => c.operation);
    expect(ops).toContain("ContainerGroups_Stop");
    expect(ops.indexOf("ContainerGroups_Stop")).toBeLessThan(ops.indexOf("ContainerGroups_Delete"));
  }, 240_000);

  it("honours a 429's Retry-After on the PUT; the run completes with one group", async () => {
    const since = azure.calls().length;
    azure.injectFault({ operation: "ContainerGroups_CreateOrUpdate", status: 429, retryAfter: 2, times: 1 });
    const d = await deploy("throttled", "flows/hello.py:main", {}, { name: "again" });
    const run = await client.waitForRun((await runOf(d)).id);
    expect(run.state.type, `${run.state.message ?? ""}\n${await logsOf(run.id)}`).toBe("COMPLETED");
    expect(run.result).toEqual({ greeting: "hello again", length: 5 });
    const puts = callsOnGroup(since, groupName(run), "ContainerGroups_CreateOrUpdate");
    expect(puts.map((c) => c.status)).toEqual([429, 201]);
    // Azure asked for 2 s: the second PUT waited at least that long (the time is the answer's, to the millisecond).
    expect(Date.parse(puts[1]!.time) - Date.parse(puts[0]!.time)).toBeGreaterThanOrEqual(1990);
  }, 180_000);

  it("makes one group, not two, when the server stops after Azure received the PUT and before the server recorded it", async () => {
    const since = azure.calls().length;
    const d = await deploy("restart", "flows/hello.py:main", {}, { name: "restart" });
    const hold = azure.holdNext({ operation: "ContainerGroups_CreateOrUpdate" });
    const created = await runOf(d);
    const name = `ferry-${created.id}`;
    const request = await hold.received;
    expect(request.path).toContain(`/containerGroups/${name}`);
    const submitting = await client.api.getFlowRun({ params: { id: created.id } });
    expect(submitting.state.name).toBe("Submitting");
    expect(submitting.infrastructure_id).toBeNull();

    await server.close();
    // Azure carries out the first server's PUT; its answer reaches no one.
    expect((await hold.release()).status).toBe(201);

    await start(port);
    const final = await client.waitForRun(created.id);
    expect(final.state.type, `${final.state.message ?? ""}\n${await logsOf(created.id)}`).toBe("COMPLETED");
    expect(final.result).toEqual({ greeting: "hello restart", length: 7 });
    expect(groupName(final)).toBe(name);
    // The restarted server found the group by its name (a GET) and sent no PUT of its own.
    expect(callsOnGroup(since, name, "ContainerGroups_CreateOrUpdate")).toHaveLength(1);
    expect(callsOnGroup(since, name, "ContainerGroups_Get").length).toBeGreaterThan(0);
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
        ...Object.fromEntries(Object.entries({ "api-url": server.url, "api-key": apiKey, ...inputs }).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
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
    expect(run.infrastructure_id).toMatch(/\/Microsoft\.ContainerInstance\/containerGroups\/ferry-/);
  }, 180_000);
});
