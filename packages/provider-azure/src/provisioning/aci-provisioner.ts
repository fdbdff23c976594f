import { FerryError, type Provisioner } from "@ferry/core";
import { defineProvisioner, type FoundResource, type StepContext, type StepInput } from "@ferry/provider-kit";
import { AZURE_CREDENTIAL_TYPE } from "../credentials.js";
import { ACI_POOL_TYPE } from "../aci-provider.js";
import {
  ACI_PROVISION_OPTIONS,
  graphPoolTags,
  graphTaggedFor,
  MANAGED_TAG,
  MANAGED_VALUE,
  POOL_TAG,
  poolTags,
  resolveNames,
  resourceGroupScope,
  roleAssignmentName,
  taggedFor,
} from "./names.js";
import { jobVariableDefaults, planSteps, STEP_IDS, type ObservedApp, type ObservedRegistry, type ObservedState, type StepId } from "./plan.js";
import { all, call, callOrNull, openSession, type AciProvisionerOptions, type Session } from "./session.js";

export type { AciProvisionerOptions } from "./session.js";

/** Built-in roles: their ids are the same in every tenant, and the list by name finds them where they are assignable. */
const ROLES = { Contributor: "b24988ac-6180-42a0-ab88-4f5581d5f3bb", AcrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d" } as const;
type Role = keyof typeof ROLES;

type State = ObservedState;
type Ctx = StepContext<Session, State>;

/**
 * Provisions what `azure-container-instance:push` pools run on, with the user's own Azure identity: a
 * resource group, an app registration and service principal with Contributor on that group only, a
 * client secret stored as the pool's credentials (only when it has none), a container registry (reused
 * when one is tagged for Ferry) and a user-assigned identity with AcrPull on it. Written on the kit's
 * step engine: every step is observed first and skipped when it exists, so a re-run resumes; removal
 * deletes what carries `ferry-pool=<pool>`, in the reverse order.
 */
export function createAciProvisioner(options: AciProvisionerOptions = {}): Provisioner {
  return defineProvisioner<Session, State>({
    type: ACI_POOL_TYPE,
    optionsSchema: ACI_PROVISION_OPTIONS,
    creationOrder: STEP_IDS,
    poolTag: (pool) => `${POOL_TAG}=${pool}`,
    open: (checked, signal) => openSession(options, checked, signal),
    observe,
    plan: (state, input) => planSteps(state, input),
    steps: Object.fromEntries(STEP_IDS.map((id) => [id, (ctx: Ctx) => STEPS[id](ctx)])),
    result: (state) => ({
      jobVariableDefaults: jobVariableDefaults(state),
      ...(state.registry ? { profile: { default_image_namespace: state.registry.loginServer } } : {}),
    }),
    findForRemoval,
    // Removal looks where provisioning made the pool's resources, whatever the user's environment says today.
    optionsFromPool: (defaults) => ({
      ...(typeof defaults.subscription_id === "string" ? { subscription_id: defaults.subscription_id } : {}),
      ...(typeof defaults.resource_group_name === "string" ? { resource_group_name: defaults.resource_group_name } : {}),
      ...(typeof defaults.location === "string" ? { location: defaults.location } : {}),
    }),
  });
}

async function observe(session: Session, input: StepInput): Promise<State> {
  const names = resolveNames(input.options, session.subscriptionId, input.poolName);
  const state: State = { names, resourceGroup: null, app: null, servicePrincipal: null, contributor: null, registry: null, identity: null, acrPull: null };
  const rg = await callOrNull(session, `reading resource group ${names.resourceGroup}`, () => session.resources.resourceGroups.get(names.resourceGroup));
  if (rg?.id) state.resourceGroup = { id: rg.id, name: names.resourceGroup, tags: rg.tags };
  state.app = await findApp(session, names.app);
  if (state.app) {
    const appId = state.app.appId;
    const sps = await call(session, "listing service principals", () => session.graph.get<{ value: { id: string; appId: string; tags?: string[] }[] }>(`/v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${appId}'`)}`));
    const sp = sps.value.find((s) => s.appId === appId);
    if (sp) state.servicePrincipal = { id: sp.id, tags: sp.tags ?? [] };
  }
  if (state.resourceGroup && state.servicePrincipal) {
    state.contributor = await findAssignment(session, resourceGroupScope(names.subscriptionId, names.resourceGroup), "Contributor", state.servicePrincipal.id);
  }
  state.registry = await findRegistry(session, names.registry, input.poolName);
  if (state.resourceGroup) {
    const identity = await callOrNull(session, `reading managed identity ${names.identity}`, () => session.msi.userAssignedIdentities.get(names.resourceGroup, names.identity));
    if (identity?.id && identity.principalId) state.identity = { id: identity.id, name: names.identity, principalId: identity.principalId, tags: identity.tags };
  }
  if (state.registry && state.identity) state.acrPull = await findAssignment(session, state.registry.id, "AcrPull", state.identity.principalId);
  return state;
}

async function findApp(session: Session, name: string): Promise<ObservedApp | null> {
  const apps = await call(session, "listing app registrations", () =>
    session.graph.get<{ value: { id: string; appId: string; displayName: string; tags?: string[] }[] }>(`/v1.0/applications?$filter=${encodeURIComponent(`displayName eq '${name}'`)}`),
  );
  const app = apps.value.find((a) => a.displayName === name);
  return app ? { id: app.id, appId: app.appId, name, tags: app.tags ?? [] } : null;
}

/** A registry tagged for this pool, else one tagged for Ferry (another pool's: reused), else the one of the expected name. */
async function findRegistry(session: Session, name: string, poolName: string): Promise<ObservedRegistry | null> {
  const registries = await call(session, "listing container registries", () => all(session.registries.registries.list()));
  const pick =
    registries.find((r) => taggedFor(r.tags, poolName)) ?? registries.find((r) => r.tags?.[MANAGED_TAG] === MANAGED_VALUE) ?? registries.find((r) => r.name === name);
  if (!pick?.id || !pick.name || !pick.loginServer) return null;
  return { id: pick.id, name: pick.name, loginServer: pick.loginServer, tags: pick.tags };
}

const roleIds = new WeakMap<Session, Map<string, Promise<string>>>();

/** The role definition's full id at `scope`, by its name (the built-in id when the list finds none). */
function roleDefinitionId(session: Session, scope: string, role: Role): Promise<string> {
  let cache = roleIds.get(session);
  if (!cache) roleIds.set(session, (cache = new Map()));
  const key = `${scope}|${role}`;
  let found = cache.get(key);
  if (!found) {
    found = call(session, `looking up the ${role} role`, () => all(session.authorization.roleDefinitions.list(scope, { filter: `roleName eq '${role}'` }))).then(
      (defs) => defs.find((d) => d.roleName === role)?.id ?? `/subscriptions/${session.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLES[role]}`,
    );
    cache.set(key, found);
  }
  return found;
}

async function findAssignment(session: Session, scope: string, role: Role, principalId: string) {
  const definition = await roleDefinitionId(session, scope, role);
  const name = roleAssignmentName(scope, definition, principalId);
  const found = await callOrNull(session, `reading the ${role} role assignment`, () => session.authorization.roleAssignments.get(scope, name));
  return found?.id ? { id: found.id, name } : null;
}

async function assign(session: Session, scope: string, role: Role, principalId: string): Promise<{ id: string; name: string }> {
  const definition = await roleDefinitionId(session, scope, role);
  const name = roleAssignmentName(scope, definition, principalId);
  const made = await call(session, `assigning ${role} on ${scope}`, () =>
    session.authorization.roleAssignments.create(scope, name, { roleDefinitionId: definition, principalId, principalType: "ServicePrincipal" }),
  );
  return { id: made.id ?? `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, name };
}

const need = <T>(value: T | null, what: string): T => {
  if (value === null) throw new FerryError("internal", `provisioning: ${what} is missing though its step ran`);
  return value;
};

const STEPS: Record<StepId, (ctx: Ctx) => Promise<string | void>> = {
  async resource_group({ session, state, input }) {
    const n = state.names;
    const rg = await call(session, `creating resource group ${n.resourceGroup}`, () =>
      session.resources.resourceGroups.createOrUpdate(n.resourceGroup, { location: n.location, tags: poolTags(input.poolName) }),
    );
    state.resourceGroup = { id: rg.id ?? resourceGroupScope(n.subscriptionId, n.resourceGroup), name: n.resourceGroup, tags: rg.tags };
    return state.resourceGroup.id;
  },
  async app_registration({ session, state, input }) {
    const app = await call(session, `creating app registration ${state.names.app}`, () =>
      session.graph.post<{ id: string; appId: string }>("/v1.0/applications", { displayName: state.names.app, signInAudience: "AzureADMyOrg", tags: graphPoolTags(input.poolName) }),
    );
    state.app = { id: app.id, appId: app.appId, name: state.names.app, tags: graphPoolTags(input.poolName) };
    return `client id ${app.appId}`;
  },
  async service_principal({ session, state, input }) {
    const app = need(state.app, "the app registration");
    const sp = await call(session, `creating the service principal of ${app.name}`, () =>
      session.graph.post<{ id: string }>("/v1.0/servicePrincipals", { appId: app.appId, tags: graphPoolTags(input.poolName) }),
    );
    state.servicePrincipal = { id: sp.id, tags: graphPoolTags(input.poolName) };
    return `object id ${sp.id}`;
  },
  async contributor_role({ session, state }) {
    const scope = need(state.resourceGroup, "the resource group").id;
    state.contributor = await assign(session, scope, "Contributor", need(state.servicePrincipal, "the service principal").id);
    return state.contributor.id;
  },
  async client_secret({ session, state, input, credentialsMade }) {
    const app = need(state.app, "the app registration");
    const tenantId = await session.tenantId();
    const made = await call(session, `adding a client secret to ${app.name}`, () =>
      session.graph.post<{ keyId: string; secretText: string }>(`/v1.0/applications/${app.id}/addPassword`, { passwordCredential: { displayName: `ferry pool ${input.poolName}` } }),
    );
    await credentialsMade(
      {
        type: AZURE_CREDENTIAL_TYPE.type,
        data: { tenant_id: tenantId, client_id: app.appId, client_secret: made.secretText, subscription_id: state.names.subscriptionId },
      },
      {
        description: `the new client secret of app registration ${app.name}`,
        discard: () => call(session, "removing the client secret again", () => session.graph.post(`/v1.0/applications/${app.id}/removePassword`, { keyId: made.keyId })).then(() => undefined),
        manualFix: `delete the secret 'ferry pool ${input.poolName}' of app registration ${app.name} (Azure portal: Microsoft Entra ID → App registrations → Certificates & secrets)`,
      },
    );
    return `secret ${made.keyId}, stored as the pool's azure credentials`;
  },
  async registry({ session, state, input }) {
    const n = state.names;
    const made = await call(session, `creating container registry ${n.registry}`, () =>
      session.registries.registries.beginCreateAndWait(
        n.resourceGroup,
        n.registry,
        { location: n.location, sku: { name: "Basic" }, tags: poolTags(input.poolName), adminUserEnabled: false },
        session.poll,
      ),
    );
    if (!made.id || !made.loginServer) throw new FerryError("provider_error", `Azure made container registry ${n.registry} without an id or login server`, { retryable: true });
    state.registry = { id: made.id, name: n.registry, loginServer: made.loginServer, tags: made.tags };
    return made.loginServer;
  },
  async identity({ session, state, input }) {
    const n = state.names;
    const made = await call(session, `creating managed identity ${n.identity}`, () =>
      session.msi.userAssignedIdentities.createOrUpdate(n.resourceGroup, n.identity, { location: n.location, tags: poolTags(input.poolName) }),
    );
    if (!made.id || !made.principalId) throw new FerryError("provider_error", `Azure made managed identity ${n.identity} without an id or principal id`, { retryable: true });
    state.identity = { id: made.id, name: n.identity, principalId: made.principalId, tags: made.tags };
    return made.id;
  },
  async acr_pull({ session, state }) {
    const registry = need(state.registry, "the container registry");
    state.acrPull = await assign(session, registry.id, "AcrPull", need(state.identity, "the managed identity").principalId);
    return state.acrPull.id;
  },
};

/** What removal considers: everything of the expected names, owned when it carries this pool's tag. */
async function findForRemoval(session: Session, input: StepInput): Promise<FoundResource[]> {
  const state = await observe(session, input);
  const pool = input.poolName;
  const n = state.names;
  const found: FoundResource[] = [];
  const identityOwned = Boolean(state.identity && taggedFor(state.identity.tags, pool));
  const spOwned = Boolean(state.servicePrincipal && graphTaggedFor(state.servicePrincipal.tags, pool));
  if (state.resourceGroup) {
    const rg = state.resourceGroup;
    found.push({
      createdBy: "resource_group",
      id: rg.id,
      resource: "resource group",
      name: rg.name,
      owned: taggedFor(rg.tags, pool),
      remove: () => call(session, `deleting resource group ${rg.name}`, () => session.resources.resourceGroups.beginDeleteAndWait(rg.name, session.poll)),
    });
  }
  if (state.app) {
    const app = state.app;
    found.push({
      createdBy: "app_registration",
      id: app.id,
      resource: "app registration",
      name: app.name,
      owned: graphTaggedFor(app.tags, pool),
      detail: graphTaggedFor(app.tags, pool) ? "with its client secrets" : `not tagged ${POOL_TAG}=${pool}: left alone`,
      remove: () => call(session, `deleting app registration ${app.name}`, () => session.graph.delete(`/v1.0/applications/${app.id}`)),
    });
  }
  if (state.servicePrincipal) {
    const sp = state.servicePrincipal;
    found.push({
      createdBy: "service_principal",
      id: sp.id,
      resource: "service principal",
      name: n.app,
      owned: spOwned,
      remove: () => call(session, `deleting the service principal of ${n.app}`, () => session.graph.delete(`/v1.0/servicePrincipals/${sp.id}`)),
    });
  }
  if (state.contributor && state.resourceGroup) {
    const { id, name } = state.contributor as { id: string; name: string };
    const scope = state.resourceGroup.id;
    found.push({
      createdBy: "contributor_role",
      id,
      resource: "role assignment",
      name: `Contributor on ${n.resourceGroup}`,
      owned: spOwned,
      remove: () => call(session, "deleting the Contributor role assignment", () => session.authorization.roleAssignments.delete(scope, name)).then(() => undefined),
    });
  }
  if (state.registry) {
    const registry = state.registry;
    const rgOfRegistry = /\/resourceGroups\/([^/]+)\//i.exec(registry.id)?.[1] ?? n.resourceGroup;
    found.push({
      createdBy: "registry",
      id: registry.id,
      resource: "container registry",
      name: registry.name,
      owned: taggedFor(registry.tags, pool),
      ...(taggedFor(registry.tags, pool) ? {} : { detail: `not tagged ${POOL_TAG}=${pool} (${registry.tags?.[POOL_TAG] ? `made for pool '${registry.tags[POOL_TAG]}'` : "not made for a pool"}): left alone` }),
      remove: () => call(session, `deleting container registry ${registry.name}`, () => session.registries.registries.beginDeleteAndWait(rgOfRegistry, registry.name, session.poll)),
    });
  }
  if (state.identity) {
    const identity = state.identity;
    found.push({
      createdBy: "identity",
      id: identity.id,
      resource: "managed identity",
      name: identity.name,
      owned: identityOwned,
      remove: () => call(session, `deleting managed identity ${identity.name}`, () => session.msi.userAssignedIdentities.delete(n.resourceGroup, identity.name)),
    });
  }
  if (state.acrPull && state.registry) {
    const { id, name } = state.acrPull as { id: string; name: string };
    const scope = state.registry.id;
    found.push({
      createdBy: "acr_pull",
      id,
      resource: "role assignment",
      name: `AcrPull on ${state.registry.name}`,
      owned: identityOwned,
      remove: () => call(session, "deleting the AcrPull role assignment", () => session.authorization.roleAssignments.delete(scope, name)).then(() => undefined),
    });
  }
  return found;
}
