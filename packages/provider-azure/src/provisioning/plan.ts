import type { ProvisionStep } from "@ferry/core";
import type { ProvisioningNames } from "./names.js";

/** Step ids in the order of creation; removal goes the other way. */
export const STEP_IDS = ["resource_group", "app_registration", "service_principal", "contributor_role", "client_secret", "registry", "identity", "acr_pull"] as const;
export type StepId = (typeof STEP_IDS)[number];

export interface ObservedResource {
  id: string;
  name: string;
  tags?: Record<string, string> | undefined;
}

export interface ObservedRegistry extends ObservedResource {
  loginServer: string;
}

export interface ObservedIdentity extends ObservedResource {
  principalId: string;
}

export interface ObservedApp {
  /** Graph object id. */
  id: string;
  /** Application (client) id. */
  appId: string;
  name: string;
  tags: string[];
}

export interface ObservedServicePrincipal {
  id: string;
  tags: string[];
}

/** What observe found; the steps fill in what they make. */
export interface ObservedState {
  names: ProvisioningNames;
  resourceGroup: ObservedResource | null;
  app: ObservedApp | null;
  servicePrincipal: ObservedServicePrincipal | null;
  /** The service principal's Contributor assignment on the resource group. */
  contributor: ObservedResource | null;
  registry: ObservedRegistry | null;
  identity: ObservedIdentity | null;
  /** The identity's AcrPull assignment on the registry. */
  acrPull: ObservedResource | null;
}

/** Pure: every step in the order of creation, `exists` where observe found it. */
export function planSteps(state: ObservedState, input: { hasCredentials: boolean }): ProvisionStep[] {
  const n = state.names;
  const step = (id: StepId, resource: string, name: string, exists: boolean, detail?: string): ProvisionStep => ({
    id,
    resource,
    name,
    action: exists ? "exists" : "create",
    ...(detail ? { detail } : {}),
  });
  return [
    step("resource_group", "resource group", n.resourceGroup, Boolean(state.resourceGroup), `in ${n.location}`),
    step("app_registration", "app registration", n.app, Boolean(state.app)),
    step("service_principal", "service principal", n.app, Boolean(state.servicePrincipal)),
    step("contributor_role", "role assignment", `Contributor on ${n.resourceGroup}`, Boolean(state.contributor), "the pool's service principal, on this resource group only"),
    input.hasCredentials
      ? step("client_secret", "client secret", n.app, true, "the pool has credentials: no new secret")
      : step("client_secret", "client secret", n.app, false, "stored as the pool's azure credentials"),
    state.registry
      ? step("registry", "container registry", state.registry.name, true, `reused: ${state.registry.loginServer}`)
      : step("registry", "container registry", n.registry, false, "Basic SKU"),
    step("identity", "managed identity", n.identity, Boolean(state.identity), "user-assigned, pulls the pool's images"),
    step("acr_pull", "role assignment", `AcrPull on ${state.registry?.name ?? n.registry}`, Boolean(state.acrPull), `for ${n.identity}`),
  ];
}

/** What the pool's template gets once every step is done. */
export function jobVariableDefaults(state: ObservedState): Record<string, unknown> {
  const identity = state.identity?.id;
  return {
    subscription_id: state.names.subscriptionId,
    resource_group_name: state.names.resourceGroup,
    location: state.names.location,
    ...(identity ? { identities: [identity] } : {}),
    ...(identity && state.registry ? { image_registry: { login_server: state.registry.loginServer, identity } } : {}),
  };
}
