import { Agent } from "node:https";
import { ContainerInstanceManagementClient } from "@azure/arm-containerinstance";
import { ContainerRegistryManagementClient } from "@azure/arm-containerregistry";
import { ResourceManagementClient } from "@azure/arm-resources";
import { agentPolicy } from "@azure/core-rest-pipeline";
import { ClientSecretCredential } from "@azure/identity";
import { startAzureLocal, type AzureLocal } from "@ferry/azure-local";
import { isFerryError, type ProvisionedCredentials, type ProvisionInput, type ProvisionProgress, type RemovalInput } from "@ferry/core";
import { describeProvisionerConformance } from "@ferry/provider-kit/conformance";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAciProvisioner } from "../src/provisioning/aci-provisioner.js";
import { registryNameFor } from "../src/provisioning/names.js";
import { ACR_TOKEN_USER, acrRegistryLogin } from "../src/registry-login.js";

// The official Azure SDK (ARM management clients, @azure/identity, Graph over @azure/core-rest-pipeline)
// against @ferry/azure-local without Docker: provisioning runs no container group. The user's identity
// is azure-local's owner (Owner on the subscription, allowed to register apps), where it would be
// DefaultAzureCredential.

const trust = (local: AzureLocal) => [{ policy: agentPolicy(new Agent({ ca: local.caPem })), position: "perCall" as const }];

function userCredential(local: AzureLocal): ClientSecretCredential {
  return new ClientSecretCredential(local.tenantId, local.ownerCredential.clientId, local.ownerCredential.clientSecret, {
    authorityHost: local.url,
    disableInstanceDiscovery: true,
    additionalPolicies: trust(local),
  });
}

const provisioner = (local: AzureLocal) =>
  createAciProvisioner({ endpoint: local.url, graphEndpoint: local.url, authorityHost: local.url, caPem: local.caPem, credential: userCredential(local), subscriptionId: local.subscriptionId, pollIntervalMs: 20 });

/** The first write of each step: failing it fails the step. */
const FIRST_WRITE: Record<string, string> = {
  resource_group: "ResourceGroups_CreateOrUpdate",
  app_registration: "Applications_Create",
  service_principal: "ServicePrincipals_Create",
  contributor_role: "RoleAssignments_Create",
  client_secret: "Applications_AddPassword",
  registry: "Registries_Create",
  identity: "UserAssignedIdentities_CreateOrUpdate",
  acr_pull: "RoleAssignments_Create",
};

/** Every resource, ids and tags, sorted: what "as it was" compares. */
function resources(local: AzureLocal) {
  const s = local.snapshot();
  const sort = <T>(items: T[]) => items.map((i) => JSON.stringify(i)).sort();
  return {
    resourceGroups: sort(s.resourceGroups),
    resources: sort(s.resources),
    roleAssignments: sort(s.roleAssignments),
    applications: sort(s.applications),
    servicePrincipals: sort(s.servicePrincipals),
  };
}

describeProvisionerConformance("the azure-container-instance:push provisioner on @ferry/azure-local", async () => {
  const local = await startAzureLocal({ docker: null });
  return {
    provisioner: provisioner(local),
    snapshot: async () => resources(local),
    failAt: (step) => {
      const operation = FIRST_WRITE[step];
      if (!operation) throw new Error(`no first write known for the step ${step}`);
      // acr_pull is the second role assignment: the one on the registry, so contributor_role's goes through.
      local.injectFault({ operation, status: 403, code: "AuthorizationFailed", message: `The client does not have authorization to perform ${operation}`, times: 1, ...(step === "acr_pull" ? { path: "registries" } : {}) });
    },
    seedForeign: async () => {
      // A resource group and a registry of the expected names without the pool's tag, and another pool's group.
      const credential = userCredential(local);
      const options = { endpoint: local.url, additionalPolicies: trust(local) };
      const rg = new ResourceManagementClient(credential, local.subscriptionId, options);
      await rg.resourceGroups.createOrUpdate("ferry-aci-push-pool-rg", { location: "eastus" });
      await rg.resourceGroups.createOrUpdate("theirs-rg", { location: "eastus", tags: { "ferry-pool": "someone-else" } });
      await new ContainerRegistryManagementClient(credential, local.subscriptionId, options).registries.beginCreateAndWait(
        "theirs-rg",
        registryNameFor(local.subscriptionId),
        { location: "eastus", sku: { name: "Basic" } },
        { updateIntervalInMs: 20 },
      );
    },
    cleanup: () => local.close(),
  };
});

describe("the azure-container-instance:push provisioner", () => {
  let local: AzureLocal;
  beforeEach(async () => {
    local = await startAzureLocal({ docker: null });
  });
  afterEach(async () => {
    await local?.close();
  });

  async function apply(input: Partial<ProvisionInput> = {}) {
    const saved: ProvisionedCredentials[] = [];
    const events: ProvisionProgress[] = [];
    const result = await provisioner(local).apply(
      { poolName: "aci", options: {}, hasCredentials: false, saveCredentials: async (c) => void saved.push(c), ...input },
      (e) => events.push(e),
    );
    return { result, saved, events };
  }

  it("makes a secret once, wires the registry and identity into the template, and its principal may run groups in its resource group only", async () => {
    const first = await apply();
    expect(first.saved).toHaveLength(1);
    const creds = first.saved[0]!;
    expect(creds.type).toBe("azure");
    expect(creds.data).toMatchObject({ tenant_id: local.tenantId, subscription_id: local.subscriptionId });
    const defaults = first.result.jobVariableDefaults as { identities: string[]; image_registry: { login_server: string; identity: string } };
    expect(defaults).toMatchObject({ resource_group_name: "ferry-aci-push-pool-rg", location: "eastus", subscription_id: local.subscriptionId });
    expect(defaults.identities).toEqual([expect.stringMatching(/userAssignedIdentities\/ferry-acr-identity$/)]);
    expect(defaults.image_registry.identity).toBe(defaults.identities[0]);
    expect(first.result.profile).toEqual({ default_image_namespace: defaults.image_registry.login_server });

    // Provisioning again (the pool now has credentials): nothing made, no second secret.
    const second = await apply({ hasCredentials: true });
    expect(second.saved).toEqual([]);
    expect(second.events.filter((e) => e.status !== "skipped")).toEqual([]);
    expect(local.snapshot().applications.find((a) => a.displayName === "ferry-aci-push-aci")?.secrets).toBe(1);

    // The stored secret signs in, and Contributor holds on the pool's resource group only.
    const sp = new ClientSecretCredential(creds.data.tenant_id!, creds.data.client_id!, creds.data.client_secret!, { authorityHost: local.url, disableInstanceDiscovery: true, additionalPolicies: trust(local) });
    const rgClient = new ResourceManagementClient(sp, local.subscriptionId, { endpoint: local.url, additionalPolicies: trust(local), retryOptions: { maxRetries: 0 } });
    await expect(rgClient.resourceGroups.get("ferry-aci-push-pool-rg")).resolves.toMatchObject({ name: "ferry-aci-push-pool-rg" });
    await expect(rgClient.resourceGroups.createOrUpdate("elsewhere-rg", { location: "eastus" })).rejects.toMatchObject({ statusCode: 403, code: "AuthorizationFailed" });
    const aci = new ContainerInstanceManagementClient(sp, local.subscriptionId, { endpoint: local.url, additionalPolicies: trust(local), retryOptions: { maxRetries: 0 } });
    await expect(aci.containerGroups.get("ferry-aci-push-pool-rg", "none")).rejects.toMatchObject({ statusCode: 404 });
  });

  it("resumes after a failure with the secret stored once, and removal leaves the subscription as it was", async () => {
    const before = resources(local);
    local.injectFault({ operation: "Registries_Create", status: 403, code: "AuthorizationFailed", message: "no registries for you", times: 1 });
    const saved: ProvisionedCredentials[] = [];
    const input: ProvisionInput = { poolName: "aci", options: {}, hasCredentials: false, saveCredentials: async (c) => void saved.push(c) };
    const error = await provisioner(local).apply(input, () => {}).catch((e: unknown) => e);
    expect(isFerryError(error)).toBe(true);
    expect((error as Error).message).toMatch(/container registry/);
    expect(saved).toHaveLength(1);
    await provisioner(local).apply({ ...input, hasCredentials: true }, () => {});
    expect(saved).toHaveLength(1);

    const removal: RemovalInput = { poolName: "aci", options: {} };
    const planned = await provisioner(local).planRemoval(removal);
    expect(planned.map((s) => `${s.action} ${s.resource}`)).toEqual([
      "delete role assignment",
      "delete managed identity",
      "delete container registry",
      "delete role assignment",
      "delete service principal",
      "delete app registration",
      "delete resource group",
    ]);
    await provisioner(local).remove(removal, () => {});
    expect(resources(local)).toEqual(before);
  });

  it("reuses a registry another pool's provisioning made, and leaves it to that pool on removal", async () => {
    await apply({ poolName: "first" });
    const registries = () => local.snapshot().resources.filter((r) => r.type.toLowerCase().includes("registries"));
    expect(registries()).toHaveLength(1);
    const second = await apply({ poolName: "second", options: { resource_group_name: "second-rg" } });
    expect(registries()).toHaveLength(1);
    expect((second.result.jobVariableDefaults as { image_registry: { login_server: string } }).image_registry.login_server).toMatch(/^ferry[0-9a-f]{12}\./);
    const plan = await provisioner(local).planRemoval({ poolName: "second", options: { resource_group_name: "second-rg" } });
    expect(plan.find((s) => s.resource === "container registry")).toMatchObject({ action: "keep", detail: expect.stringMatching(/made for pool 'first'/) });
  });

  it("logs in to the provisioned registry with the user's identity: a refresh token for docker, and a plain error for a registry it cannot push to", async () => {
    const { result } = await apply();
    const server = String((result.profile ?? {}).default_image_namespace);
    const login = acrRegistryLogin({ endpoint: local.url, caPem: local.caPem, credential: userCredential(local), registryEndpoint: local.url });
    const made = await login.login(server, {});
    expect(made.username).toBe(ACR_TOKEN_USER);
    expect(made.password.length).toBeGreaterThan(10);
    const refused = await login.login("ferrynosuchregistry.azurecr.io", {}).catch((e: unknown) => e);
    expect(isFerryError(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/exchanging your token at ferrynosuchregistry.azurecr.io/);
  });
});
