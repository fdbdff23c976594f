import { ContainerInstanceManagementClient } from "@azure/arm-containerinstance";
import { ResourceManagementClient } from "@azure/arm-resources";
import { agentPolicy } from "@azure/core-rest-pipeline";
import { ClientSecretCredential } from "@azure/identity";
import { startAzureLocal, type AzureLocal } from "@ferry/azure-local";
import { idempotencyKeyForRun, isFerryError, isFinalStatus, renderJobConfiguration, resolveJobVariables, type InfrastructureRef, type InfrastructureStatus, type SubmitRequest } from "@ferry/core";
import { fixtureDeployment, fixtureFlowRun } from "@ferry/core/testing";
import { captureLogger, describeProviderConformance } from "@ferry/provider-kit/conformance";
import { Agent } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../../test-support/services.js";
import { ACI_BASE_JOB_TEMPLATE, AciProvider } from "../src/index.js";

// The official Azure SDK, through AciProvider, against @ferry/azure-local: container groups become
// Docker containers of images on this host, so nothing here needs Azure or a registry.
const RESOURCE_GROUP = "ferry-it-rg";
const quickJob = { image: "ferry-base:bookworm", command: ["python3", "-c", "print('hi')"], resource_group_name: RESOURCE_GROUP };
const longJob = { image: "ferry-base:bookworm", command: ["sleep", "600"], resource_group_name: RESOURCE_GROUP };

let local: AzureLocal;
let credentials: Record<string, string>;

function trust() {
  return [{ policy: agentPolicy(new Agent({ ca: local.caPem })), position: "perCall" as const }];
}

function ownerCredential(): ClientSecretCredential {
  return new ClientSecretCredential(local.tenantId, local.ownerCredential.clientId, local.ownerCredential.clientSecret, { authorityHost: local.url, disableInstanceDiscovery: true, additionalPolicies: trust() });
}

function aciClient(): ContainerInstanceManagementClient {
  return new ContainerInstanceManagementClient(ownerCredential(), local.subscriptionId, { endpoint: local.url, additionalPolicies: trust() });
}

function request(variables: Record<string, unknown>): SubmitRequest {
  const jobConfiguration = renderJobConfiguration(ACI_BASE_JOB_TEMPLATE, resolveJobVariables(ACI_BASE_JOB_TEMPLATE, variables));
  const flowRun = fixtureFlowRun("azure-container-instance:push", variables, jobConfiguration);
  return {
    flowRun,
    deployment: fixtureDeployment(),
    jobConfiguration,
    credentials,
    idempotencyKey: idempotencyKeyForRun(flowRun.id),
    runtimeEnv: { FERRY_API_URL: "http://127.0.0.1:1", FERRY_FLOW_RUN_ID: flowRun.id, FERRY_BOOTSTRAP_TOKEN: "fbt_e2e" },
  };
}

const refOf = (req: SubmitRequest, infrastructureId: string): InfrastructureRef => ({ infrastructureId, jobConfiguration: req.jobConfiguration, credentials });

function provider(log = captureLogger()): AciProvider {
  return new AciProvider({ endpoint: local.url, authorityHost: local.url, caPem: local.caPem, logger: log.logger, retryBaseDelayMs: 20, pollIntervalMs: 20 });
}

async function untilFinal(p: AciProvider, ref: InfrastructureRef, timeoutMs = 60_000): Promise<InfrastructureStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await p.status(ref);
    if (isFinalStatus(status)) return status;
    if (Date.now() > deadline) throw new Error(`${ref.infrastructureId} did not finish; last status ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const created = () => local.calls().filter((c) => c.operation === "ContainerGroups_CreateOrUpdate" && c.status === 201).length;

describe("AciProvider on @ferry/azure-local", await docker({ images: ["ferry-base:bookworm"] }), () => {
  beforeAll(async () => {
    local = await startAzureLocal({ stopGraceSeconds: 1 });
    if (local.runtimeUnavailable) throw new Error(`azure-local cannot run container groups: ${local.runtimeUnavailable}`);
    credentials = { tenant_id: local.tenantId, client_id: local.ownerCredential.clientId, client_secret: local.ownerCredential.clientSecret, subscription_id: local.subscriptionId };
    await new ResourceManagementClient(ownerCredential(), local.subscriptionId, { endpoint: local.url, additionalPolicies: trust() }).resourceGroups.createOrUpdate(RESOURCE_GROUP, { location: "eastus" });
  });
  afterAll(async () => {
    await local?.close();
  });

  describeProviderConformance("AciProvider", async () => {
    const log = captureLogger();
    const make = () => provider(log);
    return {
      provider: make(),
      restart: make,
      jobs: {
        quick: quickJob,
        long: longJob,
        failing: { variables: { ...quickJob, command: ["python3", "-c", "import sys; sys.exit(3)"] }, exitCode: 3 },
        unstartable: { variables: { ...quickJob, image: "ferry-image-that-does-not-exist:nope" }, reason: /the image could not be pulled/ },
        refused: { ...quickJob, resource_group_name: "ferry-no-such-rg" },
      },
      credentials,
      secret: credentials.client_secret!,
      badCredentials: { ...credentials, client_secret: `${credentials.client_secret}-wrong` },
      startedJobs: async () => created(),
      throttle: (calls) => {
        local.clearFaults();
        if (calls > 0) local.injectFault({ path: "containerGroups", status: 429, retryAfter: 0, times: calls });
      },
      refuseCancel: (calls) => {
        local.clearFaults();
        if (calls > 0) local.injectFault({ operation: "ContainerGroups_Stop", status: 403, code: "AuthorizationFailed", message: "The client does not have authorization to perform action 'Microsoft.ContainerInstance/containerGroups/stop/action'", times: calls });
      },
      logLines: () => log.lines(),
    };
  });

  it("reads a crashed run's output before deleting its group", async () => {
    const p = provider();
    const req = request({ ...quickJob, command: ["python3", "-c", "print('last words'); import sys; sys.exit(2)"] });
    const { infrastructureId } = await p.submit(req);
    expect(await untilFinal(p, refOf(req, infrastructureId))).toMatchObject({ phase: "exited", exitCode: 2 });
    const reads = local.calls().findIndex((c) => c.operation === "Containers_ListLogs" && c.path.includes(req.flowRun.id));
    const deletes = local.calls().findIndex((c) => c.operation === "ContainerGroups_Delete" && c.path.includes(req.flowRun.id));
    expect(reads).toBeGreaterThanOrEqual(0);
    expect(deletes).toBeGreaterThan(reads);
    expect((await p.logs(refOf(req, infrastructureId), { limit: 10 })).map((l) => l.message)).toContain("last words");
    const left = local.snapshot().containerGroups.filter((g) => g.tags["ferry-flow-run-id"] === req.flowRun.id);
    expect(left.filter((g) => g.provisioningState !== "Deleting")).toEqual([]);
  });

  it("honours a 429's Retry-After on the PUT and makes one group", async () => {
    const p = provider();
    const before = created();
    local.injectFault({ operation: "ContainerGroups_CreateOrUpdate", status: 429, retryAfter: 1, times: 1 });
    const started = Date.now();
    const req = request(quickJob);
    const { infrastructureId } = await p.submit(req);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(created() - before).toBe(1);
    expect(await untilFinal(p, refOf(req, infrastructureId))).toMatchObject({ phase: "exited", exitCode: 0 });
  });

  it("makes one group when the PUT took effect but its answer was lost, and the run is resubmitted", async () => {
    local.injectFault({ operation: "ContainerGroups_CreateOrUpdate", status: 500, after: true, times: 1 });
    const req = request(quickJob);
    let id: string;
    try {
      id = (await provider().submit(req)).infrastructureId;
    } catch (error) {
      // As the server's dispatcher does after a failed submission: another attempt (here another process).
      expect(isFerryError(error) && error.retryable, String(error)).toBe(true);
      id = (await provider().submit(req)).infrastructureId;
    }
    expect(local.snapshot().containerGroups.filter((g) => g.tags["ferry-flow-run-id"] === req.flowRun.id)).toHaveLength(1);
    expect(await untilFinal(provider(), refOf(req, id))).toMatchObject({ phase: "exited", exitCode: 0 });
  });

  it("does not get the run's token back on a GET: it is a secureValue", async () => {
    const p = provider();
    const req = request({ ...longJob, keep_container_group: true });
    const { infrastructureId } = await p.submit(req);
    const name = infrastructureId.slice(infrastructureId.lastIndexOf("/") + 1);
    const group = await aciClient().containerGroups.get(RESOURCE_GROUP, name);
    const env = group.containers[0]!.environmentVariables ?? [];
    expect(env.map((v) => v.name)).toContain("FERRY_BOOTSTRAP_TOKEN");
    expect(JSON.stringify(env)).not.toContain("fbt_e2e");
    await p.cancel(refOf(req, infrastructureId), "done");
  });

  it("fails a group ARM accepted but could not provision (no capacity in the region) with Azure's words", async () => {
    const p = provider();
    local.injectFault({ operation: "ContainerGroups_CreateOrUpdate", asynchronous: true, code: "ServiceUnavailable", message: "The requested resource is not available in the location 'eastus' at this moment." });
    const req = request(quickJob);
    const { infrastructureId } = await p.submit(req);
    const status = await untilFinal(p, refOf(req, infrastructureId));
    expect(status).toMatchObject({ phase: "failed", message: expect.stringContaining("not available in the location 'eastus'") });
  });

  it("refuses a submission at the group quota, or into a subnet ARM refuses, with what to do and nothing started", async () => {
    const p = provider();
    const before = created();
    local.injectFault({ operation: "ContainerGroups_CreateOrUpdate", status: 409, code: "ContainerGroupQuotaReached", message: "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded in region 'eastus'." });
    const quota = await p.submit(request(quickJob)).catch((e: unknown) => e);
    expect(quota).toMatchObject({ code: "provider_quota", retryable: false, message: expect.stringMatching(/container group quota.*request more quota/) });
    const subnet = await p.submit(request({ ...quickJob, subnet_ids: ["/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/none"] })).catch((e: unknown) => e);
    expect(subnet).toMatchObject({ retryable: false, message: expect.stringMatching(/subnet.*delegated to Microsoft.ContainerInstance/) });
    expect(created() - before).toBe(0);
  });
});
