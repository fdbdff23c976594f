import type { ServerContext } from "./routes/context.js";

/** Every resource there is, by kind: ids for ARM, display names and ids for Graph. */
export interface AzureLocalSnapshot {
  resourceGroups: { id: string; tags: Record<string, string> }[];
  resources: { id: string; type: string; tags: Record<string, string> }[];
  containerGroups: { id: string; tags: Record<string, string>; provisioningState: string }[];
  roleAssignments: { id: string; principalId: string; roleDefinitionId: string; scope: string }[];
  applications: { id: string; appId: string; displayName: string; secrets: number }[];
  servicePrincipals: { id: string; appId: string; displayName: string }[];
}

export function takeSnapshot(context: ServerContext): AzureLocalSnapshot {
  return {
    resourceGroups: [...context.arm.resourceGroups.values()].map((g) => ({ id: g.id, tags: { ...g.tags } })),
    resources: [...context.arm.resources.values()].map((r) => ({ id: r.id, type: r.type, tags: { ...r.tags } })),
    containerGroups: context.containerGroups.all().map((g) => ({ id: g.id, tags: { ...g.spec.tags }, provisioningState: g.provisioningState })),
    roleAssignments: [...context.arm.roleAssignments.values()].map((a) => ({ id: a.id, principalId: a.principalId, roleDefinitionId: a.roleDefinitionId, scope: a.scope })),
    applications: [...context.directory.applications.values()].map((a) => ({ id: a.id, appId: a.appId, displayName: a.displayName, secrets: a.passwordCredentials.length })),
    servicePrincipals: [...context.directory.servicePrincipals.values()].map((s) => ({ id: s.id, appId: s.appId, displayName: s.displayName })),
  };
}
