import { randomUUID } from "node:crypto";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import type { ContainerGroup } from "@azure/arm-containerinstance";
import { ContainerRegistryManagementClient } from "@azure/arm-containerregistry";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { startAzureLocal, type AzureLocal } from "@ferry/azure-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { all, ARM_SCOPE, armClients, credentialFor, FakeRuntime, fetchWithCa, graphClient, POLL, rejection, trustPolicies } from "./helpers.js";

const RG = "ferry-aci-push-pool-rg";
const ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

describe("container groups that link to identities, registries and subnets", () => {
  let local: AzureLocal;
  const runtime = new FakeRuntime();
  let clients: ReturnType<typeof armClients> & { msi: ManagedServiceIdentityClient; acr: ContainerRegistryManagementClient; authorization: AuthorizationManagementClient };
  let identityId: string;
  let registryId: string;

  const group = (image: string, extra: Partial<ContainerGroup> = {}): ContainerGroup => ({
    location: "westeurope",
    osType: "Linux",
    restartPolicy: "Never",
    containers: [{ name: "flow", image, resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
    ...extra,
  });
  const withIdentity = (image: string): ContainerGroup =>
    group(image, { identity: { type: "UserAssigned", userAssignedIdentities: { [identityId]: {} } }, imageRegistryCredentials: [{ server: "ferrypool.azurecr.io", identity: identityId }] });

  beforeAll(async () => {
    runtime.images.add("ferrypool.azurecr.io/flows/hello:1");
    local = await startAzureLocal({ runtime });
    const credential = credentialFor(local);
    const options = { endpoint: local.url, credentialScopes: [ARM_SCOPE], additionalPolicies: trustPolicies(local), retryOptions: { maxRetries: 0 } };
    clients = {
      ...armClients(local),
      msi: new ManagedServiceIdentityClient(credential, local.subscriptionId, options),
      acr: new ContainerRegistryManagementClient(credential, local.subscriptionId, { endpoint: local.url, additionalPolicies: trustPolicies(local) }),
      authorization: new AuthorizationManagementClient(credential, local.subscriptionId, options),
    };
    await clients.resources.resourceGroups.createOrUpdate(RG, { location: "westeurope" });
    registryId = (await clients.acr.registries.create(RG, "ferrypool", { location: "westeurope", sku: { name: "Basic" } } as never)).id!;
    identityId = (await clients.msi.userAssignedIdentities.createOrUpdate(RG, "ferry-acr-identity", { location: "westeurope" })).id!;
  });
  afterAll(() => local?.close());

  it("refuses a pull from the registry by an identity without AcrPull, and allows it once the identity has the role", async () => {
    const refused = await rejection(clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "pull-refused", withIdentity("ferrypool.azurecr.io/flows/hello:1"), POLL));
    expect(refused.message).toContain("InaccessibleImage");
    const failed = await clients.aci.containerGroups.get(RG, "pull-refused");
    expect(failed.containers[0]!.instanceView?.events?.find((e) => e.name === "Failed")?.message).toMatch(/^Failed to pull image "ferrypool.azurecr.io\/flows\/hello:1": .*401 Unauthorized.*no AcrPull role/);

    const principalId = (await clients.msi.userAssignedIdentities.get(RG, "ferry-acr-identity")).principalId!;
    await clients.authorization.roleAssignments.create(registryId, randomUUID(), { roleDefinitionId: `/subscriptions/${local.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}`, principalId });
    const created = await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "pull-allowed", withIdentity("ferrypool.azurecr.io/flows/hello:1"), POLL);
    expect(created.provisioningState).toBe("Succeeded");
    expect(created.identity?.userAssignedIdentities?.[identityId]?.principalId).toBe(principalId);
  });

  it("refuses a pull from the registry with no credentials, and with a wrong admin password; takes the right one", async () => {
    expect((await rejection(clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "pull-anonymous", group("ferrypool.azurecr.io/flows/hello:1"), POLL))).message).toContain("InaccessibleImage");
    await clients.acr.registries.update(RG, "ferrypool", { adminUserEnabled: true } as never);
    const { passwords } = await clients.acr.registries.listCredentials(RG, "ferrypool");
    const login = (password: string): ContainerGroup => group("ferrypool.azurecr.io/flows/hello:1", { imageRegistryCredentials: [{ server: "ferrypool.azurecr.io", username: "ferrypool", password }] });
    expect((await rejection(clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "pull-wrong-password", login("nope"), POLL))).message).toContain("InaccessibleImage");
    await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "pull-admin", login(passwords![0]!.value!), POLL);
    const fetched = await clients.aci.containerGroups.get(RG, "pull-admin");
    expect(fetched.imageRegistryCredentials).toEqual([{ server: "ferrypool.azurecr.io", username: "ferrypool" }]);
    expect(JSON.stringify(fetched)).not.toContain(passwords![0]!.value!);
  });

  it("refuses an identity that does not exist, and one the caller may not assign", async () => {
    const missing = `/subscriptions/${local.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nobody`;
    const bad = group("ferry-engine:test", { identity: { type: "UserAssigned", userAssignedIdentities: { [missing]: {} } } });
    expect(await rejection(clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "no-identity", bad, POLL))).toMatchObject({ statusCode: 400, code: "FailedIdentityOperation" });

    // A principal with Contributor on another resource group only may not link this group's identity.
    const graph = await graphClient(local);
    const app = await graph.post<{ id: string; appId: string }>("/v1.0/applications", { displayName: "elsewhere" });
    const sp = await graph.post<{ id: string }>("/v1.0/servicePrincipals", { appId: app.body.appId });
    const secret = await graph.post<{ secretText: string }>(`/v1.0/applications/${app.body.id}/addPassword`, { passwordCredential: {} });
    await clients.resources.resourceGroups.createOrUpdate("other-rg", { location: "westeurope" });
    const [contributor] = await all(clients.authorization.roleDefinitions.list(`/subscriptions/${local.subscriptionId}`, { filter: "roleName eq 'Contributor'" }));
    await clients.authorization.roleAssignments.create(`/subscriptions/${local.subscriptionId}/resourceGroups/other-rg`, randomUUID(), { roleDefinitionId: contributor!.id!, principalId: sp.body.id });
    const other = armClients(local, credentialFor(local, app.body.appId, secret.body.secretText));
    const linked = await rejection(other.aci.containerGroups.beginCreateOrUpdateAndWait("other-rg", "linked", withIdentity("ferry-engine:test"), POLL));
    expect(linked).toMatchObject({ statusCode: 403, code: "LinkedAuthorizationFailed" });
    expect(linked.message).toContain("Microsoft.ManagedIdentity/userAssignedIdentities/assign/action");
  });

  it("exchanges an ARM token of a principal that may push for a registry refresh token, and refuses others", async () => {
    const exchange = async (token: string, service = "ferrypool.azurecr.io") => {
      const response = await fetchWithCa(local, "/oauth2/exchange", new URLSearchParams({ grant_type: "access_token", service, access_token: token }).toString());
      return { status: response.status, body: JSON.parse(response.body) as { refresh_token?: string; errors?: { code: string }[] } };
    };
    const ownerToken = (await credentialFor(local).getToken(ARM_SCOPE)).token;
    const granted = await exchange(ownerToken);
    expect(granted.status).toBe(200);
    expect(granted.body.refresh_token?.split(".")).toHaveLength(3);
    expect(await exchange(ownerToken, "unknown.azurecr.io")).toMatchObject({ status: 404 });
    expect(await exchange("not-a-token")).toMatchObject({ status: 401, body: { errors: [{ code: "UNAUTHORIZED" }] } });
    expect(local.calls().filter((c) => c.operation === "Registry_ExchangeToken").map((c) => c.status)).toEqual([200, 404, 401]);
  });

  it("refuses subnets: no virtual networks are served", async () => {
    const subnet = `/subscriptions/${local.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/v/subnets/s`;
    expect(await rejection(clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "subnet", group("ferry-engine:test", { subnetIds: [{ id: subnet }] }), POLL))).toMatchObject({ statusCode: 400, code: "SubnetNotFound" });
  });

  it("fails a group's provisioning asynchronously when asked (no capacity in the region)", async () => {
    local.injectFault({ operation: "ContainerGroups_CreateOrUpdate", asynchronous: true, code: "ServiceUnavailable", message: "The requested resource is not available in the location 'westeurope' at this moment. Please retry with a different resource request or in another location." });
    const failure = await rejection(clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "no-capacity", group("ferry-engine:test"), POLL));
    expect(failure.message).toContain("ServiceUnavailable. The requested resource is not available in the location 'westeurope'");
    const put = local.calls().filter((c) => c.operation === "ContainerGroups_CreateOrUpdate").at(-1)!;
    expect(put.status).toBe(201);
    const failed = await clients.aci.containerGroups.get(RG, "no-capacity");
    expect(failed.provisioningState).toBe("Failed");
    expect(failed.instanceView?.events?.[0]?.message).toContain("not available in the location");
  });
});
