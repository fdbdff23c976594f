import type { ContainerGroup } from "@azure/arm-containerinstance";
import { startAzureLocal, type AzureLocal } from "@ferry/azure-local";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { armClients, credentialFor, eventually, FakeRuntime, fetchWithCa, POLL, rejection } from "./helpers.js";

const RG = "ferry-aci-test-rg";

function group(name: string, image = "ferry-engine:test", extra: Partial<ContainerGroup> = {}): ContainerGroup {
  return {
    location: "westeurope",
    osType: "Linux",
    restartPolicy: "Never",
    tags: { "ferry-run": name },
    containers: [
      {
        name: "flow",
        image,
        command: ["python", "-m", "ferry.engine"],
        resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
        environmentVariables: [
          { name: "FERRY_API_URL", value: "http://127.0.0.1:4200" },
          { name: "FERRY_RUN_TOKEN", secureValue: "s3cret-run-token" },
        ],
      },
    ],
    ...extra,
  };
}

describe("container groups with the official @azure/arm-containerinstance and @azure/identity clients", () => {
  let local: AzureLocal;
  let runtime: FakeRuntime;
  let clients: ReturnType<typeof armClients>;

  beforeAll(async () => {
    runtime = new FakeRuntime();
    local = await startAzureLocal({ runtime });
    clients = armClients(local);
    await clients.resources.resourceGroups.createOrUpdate(RG, { location: "westeurope", tags: { "ferry-pool": "p1" } });
  });
  afterAll(async () => {
    await local?.close();
  });
  beforeEach(() => {
    local.clearCalls();
    local.clearFaults();
  });

  it("signs in with a client secret at the token endpoint and refuses an unknown secret", async () => {
    const token = await credentialFor(local).getToken("https://management.azure.com/.default");
    expect(token.token.split(".")).toHaveLength(3);
    const wrong = await rejection(credentialFor(local, local.ownerCredential.clientId, "not-the-secret").getToken("https://management.azure.com/.default"));
    expect(wrong.message).toContain("AADSTS7000215");
    const tokenCalls = local.calls().filter((c) => c.operation === "Token");
    expect(tokenCalls.map((c) => c.status)).toEqual([200, 401]);
    expect(tokenCalls[0]!.principal).toBe(local.ownerCredential.clientId);
  });

  it("creates a group with a long-running PUT, runs it to Terminated, lists its logs and deletes it", async () => {
    const created = await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-completes", group("run-completes"), POLL);
    expect(created.provisioningState).toBe("Succeeded");
    const put = local.calls().find((c) => c.operation === "ContainerGroups_CreateOrUpdate")!;
    expect(put).toMatchObject({ method: "PUT", status: 201, principal: local.ownerCredential.clientId });
    expect(local.calls().some((c) => c.operation === "AsyncOperations_Get" && c.status === 200)).toBe(true);

    const launch = runtime.containers.at(-1)!.launch;
    expect(launch.image).toBe("ferry-engine:test");
    expect(launch.entryPoint).toEqual(["python", "-m", "ferry.engine"]);
    expect(launch.env).toMatchObject({ FERRY_API_URL: "http://127.0.0.1:4200", FERRY_RUN_TOKEN: "s3cret-run-token" });
    expect(launch.memoryMib).toBe(1536);

    const running = await clients.aci.containerGroups.get(RG, "run-completes");
    expect(running.containers[0]!.instanceView?.currentState?.state).toBe("Running");
    expect(running.instanceView?.state).toBe("Running");
    expect(JSON.stringify(running)).not.toContain("s3cret-run-token");
    expect(running.containers[0]!.environmentVariables).toEqual([{ name: "FERRY_API_URL", value: "http://127.0.0.1:4200" }, { name: "FERRY_RUN_TOKEN" }]);

    runtime.finish(runtime.containers.length - 1, 0, ["flow started", "flow finished"]);
    const done = await eventually(() => clients.aci.containerGroups.get(RG, "run-completes"), (g) => g.containers[0]!.instanceView?.currentState?.state === "Terminated");
    expect(done.containers[0]!.instanceView?.currentState).toMatchObject({ state: "Terminated", exitCode: 0, detailStatus: "Completed" });
    expect(done.instanceView?.state).toBe("Succeeded");

    const logs = await clients.aci.containers.listLogs(RG, "run-completes", "flow");
    expect(logs.content).toBe("flow started\nflow finished\n");
    const tail = await clients.aci.containers.listLogs(RG, "run-completes", "flow", { tail: 1 });
    expect(tail.content).toBe("flow finished\n");

    await clients.aci.containerGroups.beginDeleteAndWait(RG, "run-completes", POLL);
    const gone = await rejection(clients.aci.containerGroups.get(RG, "run-completes"));
    expect(gone).toMatchObject({ statusCode: 404, code: "ResourceNotFound" });
    expect(runtime.containers.at(-1)!.removed).toBe(true);
  });

  it("reports a failed exit code with detail status Error", async () => {
    await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-fails", group("run-fails"), POLL);
    runtime.finish(runtime.containers.length - 1, 3);
    const done = await eventually(() => clients.aci.containerGroups.get(RG, "run-fails"), (g) => g.instanceView?.state === "Failed");
    expect(done.containers[0]!.instanceView?.currentState).toMatchObject({ state: "Terminated", exitCode: 3, detailStatus: "Error" });
  });

  it("fails provisioning like ACI for an image that is not on the host", async () => {
    const failure = await rejection(clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-no-image", group("run-no-image", "example.invalid/missing:1"), POLL));
    expect(failure.message).toContain("The image 'example.invalid/missing:1' in container group 'run-no-image' is not accessible");
    // core-lro puts the operation's error code in the message: "The long-running operation has failed. InaccessibleImage. The image ..."
    expect(failure.message).toContain("InaccessibleImage");
    const failed = await clients.aci.containerGroups.get(RG, "run-no-image");
    expect(failed.provisioningState).toBe("Failed");
    const view = failed.containers[0]!.instanceView!;
    expect(view.currentState).toMatchObject({ state: "Waiting", detailStatus: "ImagePullBackOff" });
    expect(view.events?.some((e) => e.name === "Failed" && e.message?.startsWith('Failed to pull image "example.invalid/missing:1"'))).toBe(true);
  });

  it("answers a second PUT of the same name with the same group, never a second container", async () => {
    const before = runtime.containers.length;
    await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-twice", group("run-twice"), POLL);
    await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-twice", group("run-twice"), POLL);
    expect(runtime.containers.length).toBe(before + 1);
    expect(local.calls().filter((c) => c.operation === "ContainerGroups_CreateOrUpdate").map((c) => c.status)).toEqual([201, 200]);
  });

  it("stops a running group: the container is killed and the group is Stopped", async () => {
    await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-stopped", group("run-stopped"), POLL);
    const container = runtime.containers.at(-1)!;
    await clients.aci.containerGroups.stop(RG, "run-stopped");
    expect(container.stopped).toBe(true);
    const stopped = await clients.aci.containerGroups.get(RG, "run-stopped");
    expect(stopped.instanceView?.state).toBe("Stopped");
    expect(stopped.containers[0]!.instanceView?.currentState?.state).toBe("Terminated");
  });

  it("refuses a bad name and a missing resource group with ACI's and ARM's codes", async () => {
    expect(await rejection(clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "Bad_Name", group("x"), POLL))).toMatchObject({ statusCode: 400, code: "ContainerGroupNameInvalid" });
    expect(await rejection(clients.aci.containerGroups.beginCreateOrUpdateAndWait("no-such-rg", "run-x", group("x"), POLL))).toMatchObject({ statusCode: 404, code: "ResourceGroupNotFound" });
  });

  it("lists groups by resource group and by subscription", async () => {
    const byGroup: string[] = [];
    for await (const g of clients.aci.containerGroups.listByResourceGroup(RG)) byGroup.push(g.name!);
    expect(byGroup).toContain("run-fails");
    const all: string[] = [];
    for await (const g of clients.aci.containerGroups.list()) all.push(g.name!);
    expect(all.sort()).toEqual(byGroup.sort());
  });
});

describe("faults", () => {
  let local: AzureLocal;
  let runtime: FakeRuntime;

  beforeAll(async () => {
    runtime = new FakeRuntime();
    local = await startAzureLocal({ runtime });
    await armClients(local).resources.resourceGroups.createOrUpdate(RG, { location: "westeurope" });
  });
  afterAll(async () => {
    await local?.close();
  });

  it("answers 429 with Retry-After, which the SDK's retry policy honours", async () => {
    const credential = credentialFor(local);
    const { ContainerInstanceManagementClient } = await import("@azure/arm-containerinstance");
    const { trustPolicies, ARM_SCOPE } = await import("./helpers.js");
    const retrying = new ContainerInstanceManagementClient(credential, local.subscriptionId, { endpoint: local.url, credentialScopes: [ARM_SCOPE], additionalPolicies: trustPolicies(local), retryOptions: { maxRetries: 2 } });
    local.injectFault({ operation: "ContainerGroups_CreateOrUpdate", status: 429, retryAfter: 1 });
    const started = Date.now();
    await retrying.containerGroups.beginCreateOrUpdateAndWait(RG, "run-throttled", group("run-throttled"), POLL);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    const puts = local.calls().filter((c) => c.operation === "ContainerGroups_CreateOrUpdate");
    expect(puts.map((c) => [c.status, c.error])).toEqual([[429, "TooManyRequests"], [201, undefined]]);
  });

  it("with after: true, the PUT takes effect and then answers the fault; a retry finds the one group", async () => {
    const { aci } = armClients(local);
    const before = runtime.containers.length;
    local.injectFault({ operation: "ContainerGroups_CreateOrUpdate", status: 429, retryAfter: 1, after: true });
    const throttled = await rejection(aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-after", group("run-after"), POLL));
    expect(throttled).toMatchObject({ statusCode: 429 });
    expect(runtime.containers.length).toBe(before + 1);
    await aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-after", group("run-after"), POLL);
    expect(runtime.containers.length).toBe(before + 1);
    expect(local.snapshot().containerGroups.filter((g) => g.id.endsWith("/run-after"))).toHaveLength(1);
  });

  it("throttles the token endpoint with an OAuth-shaped error", async () => {
    local.injectFault({ operation: "Token", status: 429, retryAfter: 1 });
    const throttled = await rejection(credentialFor(local).getToken("https://management.azure.com/.default"));
    expect(throttled.message).toContain("TooManyRequests");
    expect(local.calls().filter((c) => c.operation === "Token").at(-1)).toMatchObject({ status: 429, error: "TooManyRequests" });
  });

  it("takes faults, and answers calls, snapshot and health, over HTTP under /__azure-local/", async () => {
    const added = await fetchWithCa(local, "/__azure-local/faults", JSON.stringify([{ operation: "ContainerGroups_Get", status: 503, code: "ServiceUnavailable" }]), "POST", "application/json");
    expect(added.status).toBe(200);
    expect(local.faults()).toEqual([{ operation: "ContainerGroups_Get", status: 503, code: "ServiceUnavailable", times: 1 }]);
    expect((await fetchWithCa(local, "/__azure-local/faults", undefined, "DELETE")).status).toBe(200);
    expect(local.faults()).toEqual([]);
    expect(JSON.parse((await fetchWithCa(local, "/__azure-local/health", undefined, "GET")).body)).toEqual({ ok: true, runtimeUnavailable: null });
    expect(JSON.parse((await fetchWithCa(local, "/__azure-local/snapshot", undefined, "GET")).body)).toEqual(local.snapshot());
    expect(JSON.parse((await fetchWithCa(local, "/__azure-local/calls", undefined, "GET")).body).calls.length).toBe(local.calls().length);
    expect((await fetchWithCa(local, "/__azure-local/nothing", undefined, "GET")).status).toBe(404);
  });

  it("holds a PUT on arrival: the caller goes away, the PUT takes effect on release, and a retry finds the one group", async () => {
    const { aci } = armClients(local);
    const before = runtime.containers.length;
    const hold = local.holdNext({ operation: "ContainerGroups_CreateOrUpdate" });
    const abort = new AbortController();
    const lost = rejection(aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-held", group("run-held"), { ...POLL, abortSignal: abort.signal }));
    const held = await hold.received;
    expect(held).toMatchObject({ method: "PUT", operation: "ContainerGroups_CreateOrUpdate" });
    expect(JSON.parse(held.body).properties.containers[0].name).toBe("flow");
    expect(local.snapshot().containerGroups.some((g) => g.id.endsWith("/run-held"))).toBe(false);
    abort.abort();
    expect((await lost).name).toBe("AbortError");
    expect(await hold.release()).toMatchObject({ status: 201 });
    expect(runtime.containers.length).toBe(before + 1);
    await aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-held", group("run-held"), POLL);
    expect(runtime.containers.length).toBe(before + 1);
    expect(local.snapshot().containerGroups.filter((g) => g.id.endsWith("/run-held"))).toHaveLength(1);
  });

  it("matches a fault by method and path pattern", async () => {
    const { aci } = armClients(local);
    local.injectFault({ method: "GET", path: "/containerGroups/run-after$", status: 503, code: "ServiceUnavailable", times: 1 });
    expect(await rejection(aci.containerGroups.get(RG, "run-after"))).toMatchObject({ statusCode: 503, code: "ServiceUnavailable" });
    expect((await aci.containerGroups.get(RG, "run-after")).name).toBe("run-after");
  });
});

describe("without a container runtime (docker: null)", () => {
  it("fails provisioning and says why", async () => {
    const local = await startAzureLocal({ docker: null });
    try {
      const { aci, resources } = armClients(local);
      await resources.resourceGroups.createOrUpdate(RG, { location: "westeurope" });
      const failure = await rejection(aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-nodocker", group("run-nodocker"), POLL));
      expect(failure.message).toContain("Docker is disabled");
      expect(local.runtimeUnavailable).toContain("docker: null");
    } finally {
      await local.close();
    }
  });
});

describe("a PUT of a group that exists", () => {
  let local: AzureLocal;
  let runtime: FakeRuntime;

  beforeAll(async () => {
    runtime = new FakeRuntime();
    local = await startAzureLocal({ runtime, provisioningDelayMs: 300 });
    await armClients(local).resources.resourceGroups.createOrUpdate(RG, { location: "westeurope" });
  });
  afterAll(() => local?.close());

  it("while it is still provisioning, follows the same operation and makes no second container", async () => {
    const { aci } = armClients(local);
    const first = await aci.containerGroups.beginCreateOrUpdate(RG, "run-retried", group("run-retried"), POLL);
    expect((await aci.containerGroups.get(RG, "run-retried")).provisioningState).toMatch(/Pending|Creating/);
    const retried = await aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-retried", group("run-retried"), POLL);
    expect(retried.provisioningState).toBe("Succeeded");
    await first.pollUntilDone();
    expect(runtime.containers.filter((c) => c.launch.key.endsWith("/run-retried/containers/flow"))).toHaveLength(1);
    const puts = local.calls().filter((c) => c.operation === "ContainerGroups_CreateOrUpdate");
    expect(puts.map((c) => c.status)).toEqual([201, 200]);
  });

  it("a DELETE while the group is being created cancels its creation and starts no container", async () => {
    const { aci } = armClients(local);
    const before = runtime.containers.length;
    const creating = rejection(aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-deleted-early", group("run-deleted-early"), POLL));
    await eventually(() => Promise.resolve(local.snapshot().containerGroups.some((g) => g.id.endsWith("/run-deleted-early"))), (found) => found);
    const deletions = [aci.containerGroups.beginDeleteAndWait(RG, "run-deleted-early", POLL), aci.containerGroups.beginDeleteAndWait(RG, "run-deleted-early", POLL)];
    await Promise.all(deletions);
    expect((await creating).message).toContain("OperationCanceled");
    expect(runtime.containers.length).toBe(before);
    expect(await rejection(aci.containerGroups.get(RG, "run-deleted-early"))).toMatchObject({ statusCode: 404 });
  });

  it("a stop while the group is being created waits for its container, then stops it", async () => {
    const { aci } = armClients(local);
    const creating = aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-stopped-early", group("run-stopped-early"), POLL);
    await eventually(() => Promise.resolve(local.snapshot().containerGroups.some((g) => g.id.endsWith("/run-stopped-early"))), (found) => found);
    await aci.containerGroups.stop(RG, "run-stopped-early");
    await creating;
    const stopped = await aci.containerGroups.get(RG, "run-stopped-early");
    expect(stopped.instanceView?.state).toBe("Stopped");
    expect(stopped.containers[0]!.instanceView?.currentState).toMatchObject({ state: "Terminated", detailStatus: "Killing" });
    expect(runtime.containers.at(-1)!.stopped).toBe(true);
  });

  it("a container that exits at once leaves the group Succeeded, not Running", async () => {
    const quick = new FakeRuntime();
    quick.start = async function (launch) {
      const handle = await FakeRuntime.prototype.start.call(this, launch);
      this.finish(this.containers.length - 1, 0, ["done"]);
      return handle;
    };
    const fast = await startAzureLocal({ runtime: quick });
    try {
      const clients = armClients(fast);
      await clients.resources.resourceGroups.createOrUpdate(RG, { location: "westeurope" });
      await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-quick", group("run-quick"), POLL);
      const done = await eventually(() => clients.aci.containerGroups.get(RG, "run-quick"), (g) => g.containers[0]!.instanceView?.currentState?.state === "Terminated");
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await clients.aci.containerGroups.get(RG, "run-quick")).instanceView?.state).toBe("Succeeded");
      expect(done.containers[0]!.instanceView?.currentState?.exitCode).toBe(0);
    } finally {
      await fast.close();
    }
  });

  it("after a failed provisioning, provisions it again", async () => {
    const { aci } = armClients(local);
    expect((await rejection(aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-later", group("run-later", "ferry-engine:later"), POLL))).message).toContain("InaccessibleImage");
    runtime.images.add("ferry-engine:later");
    const again = await aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-later", group("run-later", "ferry-engine:later"), POLL);
    expect(again.provisioningState).toBe("Succeeded");
    expect(again.containers[0]!.instanceView?.currentState?.state).toBe("Running");
    expect(again.containers[0]!.instanceView?.events?.some((e) => e.name === "Failed")).toBe(false);
  });
});
