import type { ContainerGroup } from "@azure/arm-containerinstance";
import { createHttpHeaders, createPipelineRequest, RestError } from "@azure/core-rest-pipeline";
import { idempotencyKeyForRun, isFerryError, renderJobConfiguration, resolveJobVariables, type InfrastructureRef, type SubmitRequest } from "@ferry/core";
import { fixtureDeployment, fixtureFlowRun } from "@ferry/core/testing";
import { containsSecret } from "@ferry/provider-kit";
import { describe, expect, it } from "vitest";
import { AciProvider } from "./aci-provider.js";
import { ACI_BASE_JOB_TEMPLATE } from "./aci-template.js";
import type { AciClientSettings, ContainerGroupsApi } from "./azure-clients.js";

const SECRET = "pool-secret-9f1c";
const credentials = { tenant_id: "t", client_id: "c", client_secret: SECRET, subscription_id: "sub" };
const variables = { resource_group_name: "rg", image: "img:1" };

function armError(status: number, code: string, headers: Record<string, string> = {}): RestError {
  const request = createPipelineRequest({ url: "https://management.azure.com/x" });
  return new RestError(`${code} happened`, { code, statusCode: status, request, response: { status, headers: createHttpHeaders(headers), request } });
}

type State = { state: string; exitCode?: number; detailStatus?: string };

/** ACI in memory, behind the narrow interface the provider talks to: groups by name, and faults per operation. */
class FakeAci implements ContainerGroupsApi {
  groups = new Map<string, { group: ContainerGroup; state?: State; logs: string }>();
  calls: string[] = [];
  faults: Partial<Record<string, Error[]>> = {};
  settings: AciClientSettings[] = [];

  private op(name: string) {
    this.calls.push(name);
    const fault = this.faults[name]?.shift();
    if (fault) throw fault;
  }
  async get(_rg: string, name: string) {
    this.op("get");
    const found = this.groups.get(name);
    if (!found) return null;
    const container = { ...found.group.containers[0]!, instanceView: found.state ? { currentState: found.state } : {} };
    return { ...found.group, provisioningState: "Succeeded", containers: [container] } as ContainerGroup;
  }
  async create(_rg: string, name: string, group: ContainerGroup) {
    this.op("create");
    this.groups.set(name, { group, logs: "" });
  }
  async stop(_rg: string, name: string) {
    this.op("stop");
    const found = this.groups.get(name);
    if (!found) throw armError(404, "ResourceNotFound");
    found.state = { state: "Terminated", exitCode: 137, detailStatus: "Killed" };
  }
  async delete(_rg: string, name: string) {
    this.op("delete");
    this.groups.delete(name);
  }
  async logs(_rg: string, name: string, _container: string, tail: number) {
    this.op("logs");
    const found = this.groups.get(name);
    if (!found) throw armError(404, "ResourceNotFound");
    return found.logs.split("\n").slice(-tail - 1).join("\n");
  }
  only(): { group: ContainerGroup; state?: State; logs: string } {
    expect(this.groups.size).toBe(1);
    return [...this.groups.values()][0]!;
  }
}

function setup(options: { attempts?: number; maxRetryAfterMs?: number } = {}) {
  const aci = new FakeAci();
  const slept: number[] = [];
  const provider = new AciProvider({
    clients: async (settings) => {
      aci.settings.push(settings);
      return aci;
    },
    retryBaseDelayMs: 1,
    sleep: async (ms) => {
      slept.push(ms);
    },
    ...options,
  });
  return { aci, provider, slept };
}

function request(extra: Record<string, unknown> = {}): SubmitRequest {
  const jobConfiguration = renderJobConfiguration(ACI_BASE_JOB_TEMPLATE, resolveJobVariables(ACI_BASE_JOB_TEMPLATE, { ...variables, ...extra }));
  const flowRun = fixtureFlowRun("azure-container-instance:push", variables, jobConfiguration);
  return {
    flowRun,
    deployment: fixtureDeployment(),
    jobConfiguration,
    credentials,
    idempotencyKey: idempotencyKeyForRun(flowRun.id),
    runtimeEnv: { FERRY_API_URL: "https://ferry.example", FERRY_FLOW_RUN_ID: flowRun.id, FERRY_BOOTSTRAP_TOKEN: "fbt_1" },
  };
}

const refOf = (req: SubmitRequest, infrastructureId: string): InfrastructureRef => ({ infrastructureId, jobConfiguration: req.jobConfiguration, credentials });

describe("AciProvider", () => {
  it("submits one group named from the run id in the subscription of the credentials, with the pool's principal", async () => {
    const { aci, provider } = setup();
    const req = request();
    const { infrastructureId } = await provider.submit(req);
    expect(infrastructureId).toBe(`/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/ferry-${req.flowRun.id}`);
    expect(aci.only().group.restartPolicy).toBe("Never");
    expect(aci.settings[0]).toMatchObject({ subscriptionId: "sub", principal: { tenantId: "t", clientId: "c", clientSecret: SECRET } });
    // One client per principal and subscription: polls reuse it (and its cached token).
    await provider.status(refOf(req, infrastructureId));
    await provider.status(refOf(req, infrastructureId));
    expect(aci.settings).toHaveLength(1);
    await provider.submit({ ...request(), credentials: { ...credentials, client_secret: "another" } });
    expect(aci.settings).toHaveLength(2);
  });

  it("finds the group an earlier attempt made and does not PUT it again (a new token would restart it)", async () => {
    const { aci, provider } = setup();
    const req = request();
    const first = await provider.submit(req);
    const restarted = setup();
    restarted.aci.groups = aci.groups;
    const second = await restarted.provider.submit({ ...req, runtimeEnv: { ...req.runtimeEnv, FERRY_BOOTSTRAP_TOKEN: "fbt_2" } });
    expect(second).toEqual(first);
    expect(restarted.aci.calls).toEqual(["get"]);
    expect(aci.only().group.containers[0]!.environmentVariables).toContainEqual({ name: "FERRY_BOOTSTRAP_TOKEN", secureValue: "fbt_1" });
  });

  it("honours a 429's Retry-After before trying again, and makes one group", async () => {
    const { aci, provider, slept } = setup();
    aci.faults.create = [armError(429, "TooManyRequests", { "retry-after": "3" })];
    await provider.submit(request());
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThanOrEqual(3000);
    expect(aci.groups.size).toBe(1);
  });

  it("gives up at once on a Retry-After longer than it waits, retryable, for the dispatcher to resubmit", async () => {
    const { aci, provider, slept } = setup({ maxRetryAfterMs: 1000 });
    aci.faults.get = [armError(429, "TooManyRequests", { "retry-after": "120" })];
    const error = await provider.submit(request()).catch((e: unknown) => e);
    expect(isFerryError(error, "provider_throttled")).toBe(true);
    expect(slept).toEqual([]);
    expect(aci.groups.size).toBe(0);
  });

  it("reads the output of an ended group, then deletes it, and keeps answering from memory", async () => {
    const { aci, provider } = setup();
    const req = request();
    const { infrastructureId } = await provider.submit(req);
    const entry = aci.only();
    entry.state = { state: "Terminated", exitCode: 2, detailStatus: "Error" };
    entry.logs = "starting\nTraceback: boom\n";
    const status = await provider.status(refOf(req, infrastructureId));
    expect(status).toEqual({ phase: "exited", exitCode: 2, message: "Error" });
    expect(aci.calls.slice(-3)).toEqual(["get", "logs", "delete"]);
    expect(aci.groups.size).toBe(0);
    expect(await provider.status(refOf(req, infrastructureId))).toEqual(status);
    expect((await provider.logs(refOf(req, infrastructureId), { limit: 50 })).map((l) => l.message)).toEqual(["starting", "Traceback: boom"]);
  });

  it("keeps the group when keep_container_group is set, or when its output could not be read", async () => {
    const kept = setup();
    const req = request({ keep_container_group: true });
    const a = await kept.provider.submit(req);
    kept.aci.only().state = { state: "Terminated", exitCode: 0 };
    expect(await kept.provider.status(refOf(req, a.infrastructureId))).toEqual({ phase: "exited", exitCode: 0 });
    expect(kept.aci.groups.size).toBe(1);

    const unread = setup({ attempts: 1 });
    const req2 = request();
    const b = await unread.provider.submit(req2);
    unread.aci.only().state = { state: "Terminated", exitCode: 1 };
    unread.aci.faults.logs = [armError(500, "InternalServerError")];
    expect(await unread.provider.status(refOf(req2, b.infrastructureId))).toMatchObject({ phase: "exited", exitCode: 1 });
    expect(unread.aci.calls).not.toContain("delete");
    expect(unread.aci.groups.size).toBe(1);
  });

  it("cancels by stopping then deleting; a refused stop rejects and deletes nothing", async () => {
    const { aci, provider } = setup();
    const req = request();
    const { infrastructureId } = await provider.submit(req);
    aci.only().state = { state: "Running" };
    aci.faults.stop = [armError(403, "AuthorizationFailed")];
    const error = await provider.cancel(refOf(req, infrastructureId), "by test").catch((e: unknown) => e);
    expect(isFerryError(error, "provider_auth")).toBe(true);
    expect(aci.groups.size).toBe(1);
    await provider.cancel(refOf(req, infrastructureId), "by test");
    expect(aci.calls.filter((c) => c === "stop" || c === "delete")).toEqual(["stop", "stop", "delete"]);
    expect(aci.groups.size).toBe(0);
    expect(await provider.status(refOf(req, infrastructureId))).toMatchObject({ phase: "failed", message: /stopped: by test/ });
    await expect(provider.cancel(refOf(req, infrastructureId), "again")).resolves.toBeUndefined();
  });

  it("says what to set when the resource group or subscription is missing, and keeps the secret out of errors", async () => {
    const { provider } = setup();
    await expect(provider.submit(request({ resource_group_name: null }))).rejects.toThrow(/set the resource_group_name job variable, or run 'ferry work-pool provision-infra/);
    const req = request();
    await expect(provider.submit({ ...req, credentials: { ...credentials, subscription_id: "" } })).rejects.toThrow(/no Azure subscription/);
    const { aci, provider: p2 } = setup({ attempts: 1 });
    aci.faults.get = [new Error(`boom with ${SECRET}`)];
    const error = await p2.submit(request()).catch((e: unknown) => e);
    expect(containsSecret(error, [SECRET])).toBe(false);
  });

  it("refuses a pool without credentials unless the operator allowed the server's own identity", async () => {
    const { provider } = setup();
    await expect(provider.submit({ ...request(), credentials: null })).rejects.toMatchObject({ code: "provider_auth" });
  });

  it("watches until the group ended; when the follower stops first, it still reads and deletes the group once it exits", async () => {
    const { aci, provider } = setup();
    const req = request();
    const { infrastructureId } = await provider.submit(req);
    const entry = aci.only();
    entry.state = { state: "Running" };
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const status of provider.watch(refOf(req, infrastructureId), controller.signal)) {
      seen.push(status.phase);
      // The engine reported the run's end: the dispatcher stops following while the container still runs.
      controller.abort();
    }
    expect(seen).toEqual(["running"]);
    expect(aci.groups.size).toBe(1);
    entry.state = { state: "Terminated", exitCode: 0 };
    await expect.poll(() => aci.groups.size).toBe(0);
    expect(aci.calls.slice(-2)).toEqual(["logs", "delete"]);
  });
});
