import { randomUUID } from "node:crypto";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { ContainerRegistryManagementClient } from "@azure/arm-containerregistry";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { startAzureLocal, type AzureLocal } from "@ferry/azure-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { all, ARM_SCOPE, armClients, credentialFor, FakeRuntime, graphClient, POLL, rejection, trustPolicies } from "./helpers.js";

const RG = "ferry-aci-push-pool-rg";
const TAGS = { "ferry-pool": "pool-a" };

describe("provisioning calls with the official @azure/arm-* clients and Graph over REST", () => {
  let local: AzureLocal;
  let initial: ReturnType<AzureLocal["snapshot"]>;
  let owner: ReturnType<typeof clientsFor>;
  const runtime = new FakeRuntime();

  function clientsFor(credential = credentialFor(local)) {
    const options = { endpoint: local.url, credentialScopes: [ARM_SCOPE], additionalPolicies: trustPolicies(local), retryOptions: { maxRetries: 0 } };
    return {
      ...armClients(local, credential),
      authorization: new AuthorizationManagementClient(credential, local.subscriptionId, options),
      msi: new ManagedServiceIdentityClient(credential, local.subscriptionId, options),
      acr: new ContainerRegistryManagementClient(credential, local.subscriptionId, { endpoint: local.url, additionalPolicies: trustPolicies(local), retryOptions: { maxRetries: 0 } }),
    };
  }

  beforeAll(async () => {
    local = await startAzureLocal({ runtime });
    initial = local.snapshot();
    owner = clientsFor();
  });
  afterAll(() => local?.close());

  it("provisions a pool's resources, limits the pool's principal to them, and removes everything back to empty", async () => {
    const subscription = `/subscriptions/${local.subscriptionId}`;
    const rgScope = `${subscription}/resourceGroups/${RG}`;
    expect((await owner.resources.resourceGroups.createOrUpdate(RG, { location: "westeurope", tags: TAGS })).tags).toEqual(TAGS);
    expect((await all(owner.resources.resourceGroups.list({ filter: "tagName eq 'ferry-pool' and tagValue eq 'pool-a'" }))).map((g) => g.name)).toEqual([RG]);

    // The app registration, its service principal and a client secret (Graph).
    const graph = await graphClient(local);
    const app = await graph.post<{ id: string; appId: string }>("/v1.0/applications", { displayName: "ferry-aci-pool-a", signInAudience: "AzureADMyOrg", tags: ["ferry-pool:pool-a"] });
    expect(app.status).toBe(201);
    const found = await graph.get<{ value: { id: string }[] }>(`/v1.0/applications?$filter=${encodeURIComponent("displayName eq 'ferry-aci-pool-a'")}`);
    expect(found.body.value.map((a) => a.id)).toEqual([app.body.id]);
    const sp = await graph.post<{ id: string; appId: string }>("/v1.0/servicePrincipals", { appId: app.body.appId, tags: ["ferry-pool:pool-a"] });
    expect(sp.status).toBe(201);
    expect((await graph.post("/v1.0/servicePrincipals", { appId: app.body.appId })).status).toBe(409);
    expect((await graph.get<{ value: unknown[] }>(`/v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${app.body.appId}'`)}`)).body.value).toHaveLength(1);
    const password = await graph.post<{ keyId: string; secretText: string }>(`/v1.0/applications/${app.body.id}/addPassword`, { passwordCredential: { displayName: "ferry pool pool-a" } });
    expect(password.body.secretText).toMatch(/.{30,}/);
    expect(JSON.stringify((await graph.get(`/v1.0/applications/${app.body.id}`)).body)).not.toContain(password.body.secretText);

    // The pool's principal signs in, but may do nothing until it has a role.
    const pool = clientsFor(credentialFor(local, app.body.appId, password.body.secretText));
    const group = { location: "westeurope", osType: "Linux", restartPolicy: "Never" as const, containers: [{ name: "flow", image: "ferry-engine:test", resources: { requests: { cpu: 1, memoryInGB: 1 } } }] };
    const denied = await rejection(pool.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-1", group, POLL));
    expect(denied).toMatchObject({ statusCode: 403, code: "AuthorizationFailed" });
    expect(denied.message).toBe(
      `The client '${app.body.appId}' with object id '${sp.body.id}' does not have authorization to perform action 'Microsoft.ContainerInstance/containerGroups/write' over scope '${rgScope}/providers/Microsoft.ContainerInstance/containerGroups/run-1' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );

    // Contributor on the resource group only.
    const [contributor] = await all(owner.authorization.roleDefinitions.list(rgScope, { filter: "roleName eq 'Contributor'" }));
    expect(contributor).toMatchObject({ roleName: "Contributor", name: "b24988ac-6180-42a0-ab88-20f7382dd24c" });
    const contributorName = randomUUID();
    await owner.authorization.roleAssignments.create(rgScope, contributorName, { roleDefinitionId: contributor!.id!, principalId: sp.body.id, principalType: "ServicePrincipal" });
    expect(await rejection(owner.authorization.roleAssignments.create(rgScope, randomUUID(), { roleDefinitionId: contributor!.id!, principalId: sp.body.id }))).toMatchObject({ statusCode: 409, code: "RoleAssignmentExists" });
    expect(await rejection(owner.authorization.roleAssignments.create(rgScope, randomUUID(), { roleDefinitionId: contributor!.id!, principalId: randomUUID() }))).toMatchObject({ statusCode: 400, code: "PrincipalNotFound" });
    expect((await owner.authorization.roleAssignments.get(rgScope, contributorName)).principalId).toBe(sp.body.id);

    expect((await pool.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "run-1", group, POLL)).provisioningState).toBe("Succeeded");
    await owner.resources.resourceGroups.createOrUpdate("elsewhere-rg", { location: "westeurope" });
    expect(await rejection(pool.aci.containerGroups.beginCreateOrUpdateAndWait("elsewhere-rg", "run-2", group, POLL))).toMatchObject({ statusCode: 403, code: "AuthorizationFailed" });
    expect(await rejection(pool.authorization.roleAssignments.create(rgScope, randomUUID(), { roleDefinitionId: contributor!.id!, principalId: sp.body.id }))).toMatchObject({ statusCode: 403, code: "AuthorizationFailed" });
    expect((await (await graphClient(local, credentialFor(local, app.body.appId, password.body.secretText))).get("/v1.0/applications")).body).toMatchObject({ error: { code: "Authorization_RequestDenied" } });
    await owner.resources.resourceGroups.beginDeleteAndWait("elsewhere-rg", POLL);

    // A registry and an identity with AcrPull on it.
    expect(await owner.acr.registries.checkNameAvailability({ name: "ferrypoola", type: "Microsoft.ContainerRegistry/registries" })).toMatchObject({ nameAvailable: true });
    const registry = await owner.acr.registries.create(RG, "ferrypoola", { location: "westeurope", sku: { name: "Basic" }, tags: TAGS, properties: { adminUserEnabled: false } } as never);
    expect(registry).toMatchObject({ name: "ferrypoola", tags: TAGS, loginServer: "ferrypoola.azurecr.io", provisioningState: "Succeeded" });
    expect(await owner.acr.registries.checkNameAvailability({ name: "ferrypoola", type: "Microsoft.ContainerRegistry/registries" })).toMatchObject({ nameAvailable: false, reason: "AlreadyExists" });
    expect((await all(owner.acr.registries.list())).map((r) => [r.name, r.tags])).toEqual([["ferrypoola", TAGS]]);
    expect(await rejection(owner.acr.registries.listCredentials(RG, "ferrypoola"))).toMatchObject({ statusCode: 400, code: "UnauthorizedForCredentialOperations" });

    const identity = await owner.msi.userAssignedIdentities.createOrUpdate(RG, "ferry-acr-identity", { location: "westeurope", tags: TAGS });
    expect(identity).toMatchObject({ name: "ferry-acr-identity", tags: TAGS, tenantId: local.tenantId });
    expect(identity.principalId).toMatch(/^[0-9a-f-]{36}$/);
    const [acrPull] = await all(owner.authorization.roleDefinitions.list(registry.id!, { filter: "roleName eq 'AcrPull'" }));
    const pullName = randomUUID();
    await owner.authorization.roleAssignments.create(registry.id!, pullName, { roleDefinitionId: acrPull!.id!, principalId: identity.principalId!, principalType: "ServicePrincipal" });
    const atRegistry = await all(owner.authorization.roleAssignments.listForScope(registry.id!, { filter: "atScope()" }));
    expect(atRegistry.map((a) => a.name).sort()).toEqual([pullName, contributorName, ...initial.roleAssignments.map((a) => a.id.split("/").pop()!)].sort());

    // Everything tagged for the pool, and everything in its resource group.
    const tagged = await all(owner.resources.resources.list({ filter: "tagName eq 'ferry-pool' and tagValue eq 'pool-a'" }));
    expect(tagged.map((r) => r.type).sort()).toEqual(["Microsoft.ContainerRegistry/registries", "Microsoft.ManagedIdentity/userAssignedIdentities"]);
    const inGroup = await all(owner.resources.resources.listByResourceGroup(RG));
    expect(inGroup.map((r) => r.name).sort()).toEqual(["ferry-acr-identity", "ferrypoola", "run-1"]);
    expect((await all(owner.resources.resources.list({ filter: "resourceType eq 'Microsoft.ContainerRegistry/registries'" }))).map((r) => r.name)).toEqual(["ferrypoola"]);

    // Deprovision: everything this pool made, then the resource group.
    await owner.authorization.roleAssignments.delete(registry.id!, pullName);
    await owner.authorization.roleAssignments.delete(rgScope, contributorName);
    await owner.acr.registries.delete(RG, "ferrypoola");
    await owner.msi.userAssignedIdentities.delete(RG, "ferry-acr-identity");
    await owner.aci.containerGroups.beginDeleteAndWait(RG, "run-1", POLL);
    expect((await graph.delete(`/v1.0/servicePrincipals/${sp.body.id}`)).status).toBe(204);
    expect((await graph.delete(`/v1.0/applications/${app.body.id}`)).status).toBe(204);
    await owner.resources.resourceGroups.beginDeleteAndWait(RG, POLL);
    expect(local.snapshot()).toEqual(initial);

    // The deleted app's secret no longer signs in.
    expect((await rejection(credentialFor(local, app.body.appId, password.body.secretText).getToken(ARM_SCOPE))).message).toContain("AADSTS700016");
  });

  it("refuses a Graph token on ARM and an ARM token on Graph", async () => {
    const graphToken = await graphClient(local, { getToken: (_scopes: string | string[]) => credentialFor(local).getToken("https://graph.microsoft.com/.default") });
    expect((await graphToken.get("/v1.0/applications")).status).toBe(200);
    const armTokenOnGraph = await graphClient(local, { getToken: () => credentialFor(local).getToken(ARM_SCOPE) });
    expect((await armTokenOnGraph.get("/v1.0/applications")).body).toMatchObject({ error: { code: "InvalidAuthenticationToken" } });
    const graphTokenOnArm = armClients(local, { getToken: () => credentialFor(local).getToken("https://graph.microsoft.com/.default") });
    expect(await rejection(graphTokenOnArm.resources.resourceGroups.get("anything"))).toMatchObject({ statusCode: 401, code: "InvalidAuthenticationTokenAudience" });
  });

  it("removes a client secret: it no longer signs in", async () => {
    const graph = await graphClient(local);
    const app = await graph.post<{ id: string; appId: string }>("/v1.0/applications", { displayName: "ferry-secret-test" });
    await graph.post("/v1.0/servicePrincipals", { appId: app.body.appId });
    const password = await graph.post<{ keyId: string; secretText: string }>(`/v1.0/applications/${app.body.id}/addPassword`, { passwordCredential: { displayName: "one" } });
    expect((await credentialFor(local, app.body.appId, password.body.secretText).getToken(ARM_SCOPE)).token).toBeTruthy();
    expect((await graph.post(`/v1.0/applications/${app.body.id}/removePassword`, { keyId: password.body.keyId })).status).toBe(204);
    expect((await rejection(credentialFor(local, app.body.appId, password.body.secretText).getToken(ARM_SCOPE))).message).toContain("AADSTS7000215");
    await graph.delete(`/v1.0/applications/${app.body.id}`);
  });

  it("deleting a resource group deletes what is in it, and the role assignments scoped to it", async () => {
    await owner.resources.resourceGroups.createOrUpdate("doomed-rg", { location: "westeurope" });
    const identity = await owner.msi.userAssignedIdentities.createOrUpdate("doomed-rg", "doomed-identity", { location: "westeurope" });
    const [reader] = await all(owner.authorization.roleDefinitions.list(`/subscriptions/${local.subscriptionId}`, { filter: "roleName eq 'Reader'" }));
    await owner.authorization.roleAssignments.create(`/subscriptions/${local.subscriptionId}/resourceGroups/doomed-rg`, randomUUID(), { roleDefinitionId: reader!.id!, principalId: identity.principalId! });
    await owner.aci.containerGroups.beginCreateOrUpdateAndWait("doomed-rg", "doomed-run", { location: "westeurope", osType: "Linux", restartPolicy: "Never", containers: [{ name: "flow", image: "ferry-engine:test", resources: { requests: { cpu: 1, memoryInGB: 1 } } }] }, POLL);
    runtime.stopDelayMs = 300; // the group's container takes a while to die: the resource group is Deleting meanwhile
    const poller = await owner.resources.resourceGroups.beginDelete("doomed-rg", POLL);
    expect(await rejection(owner.resources.resourceGroups.createOrUpdate("doomed-rg", { location: "westeurope" }))).toMatchObject({ statusCode: 409, code: "ResourceGroupBeingDeleted" });
    await poller.pollUntilDone();
    expect(local.calls().some((c) => c.operation === "OperationResults_Get" && c.status === 200)).toBe(true);
    expect(local.snapshot()).toEqual(initial);
  });
});
