import { createHash } from "node:crypto";
import type { ProvisionOptionsSchema } from "@ferry/core";

/** The tag (ARM) and tag prefix (Graph, whose tags are strings) that say which pool a resource was made for. */
export const POOL_TAG = "ferry-pool";
export const MANAGED_TAG = "managed-by";
export const MANAGED_VALUE = "ferry";

export const DEFAULTS = {
  location: "eastus",
  resourceGroup: "ferry-aci-push-pool-rg",
  identity: "ferry-acr-identity",
} as const;

const UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/**
 * The options of `azure-container-instance:push` provisioning (CLI flags `--subscription-id`,
 * `--location`…), checked by core's parseProvisionOptions before anything is touched.
 */
export const ACI_PROVISION_OPTIONS: ProvisionOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    subscription_id: { type: "string", pattern: UUID, description: "Azure subscription to provision in; unset: AZURE_SUBSCRIPTION_ID" },
    tenant_id: { type: "string", pattern: UUID, description: "Microsoft Entra tenant of the app registration; unset: AZURE_TENANT_ID, else the subscription's tenant" },
    location: { type: "string", pattern: "^[a-z0-9]{2,40}$", default: DEFAULTS.location, description: "Azure region of the resource group, registry and container groups, e.g. eastus" },
    resource_group_name: {
      type: "string",
      pattern: "^[-\\w._()]{1,89}[-\\w_()]$",
      default: DEFAULTS.resourceGroup,
      description: "Resource group the pool's resources and container groups live in: 1-90 letters, digits and -_.()",
    },
    identity_name: { type: "string", pattern: "^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$", default: DEFAULTS.identity, description: "User-assigned identity that pulls images (AcrPull): 3-128 letters, digits, - and _" },
    registry_name: {
      type: "string",
      pattern: "^[a-zA-Z0-9]{5,50}$",
      description: "Container registry to create when none tagged for Ferry exists: 5-50 letters and digits, unique in Azure; unset: ferry plus a hash of the subscription",
    },
  },
};

export interface ProvisioningNames {
  subscriptionId: string;
  location: string;
  resourceGroup: string;
  identity: string;
  /** The registry created when none tagged for Ferry exists. */
  registry: string;
  /** The app registration's display name (one per pool). */
  app: string;
}

export function resolveNames(options: Record<string, string>, subscriptionId: string, poolName: string): ProvisioningNames {
  return {
    subscriptionId,
    location: options.location || DEFAULTS.location,
    resourceGroup: options.resource_group_name || DEFAULTS.resourceGroup,
    identity: options.identity_name || DEFAULTS.identity,
    registry: options.registry_name || registryNameFor(subscriptionId),
    app: appNameFor(poolName),
  };
}

/** Registry names are global: a hash of the subscription keeps two subscriptions' from colliding, and one subscription's stable. */
export function registryNameFor(subscriptionId: string): string {
  return `ferry${createHash("sha256").update(subscriptionId.toLowerCase()).digest("hex").slice(0, 12)}`;
}

export function appNameFor(poolName: string): string {
  return `ferry-aci-push-${poolName}`;
}

/** ARM tags of what provisioning makes for a pool. */
export function poolTags(poolName: string): Record<string, string> {
  return { [POOL_TAG]: poolName, [MANAGED_TAG]: MANAGED_VALUE };
}

/** Graph tags (strings) of the app registration and its service principal. */
export function graphPoolTags(poolName: string): string[] {
  return [`${POOL_TAG}:${poolName}`, `${MANAGED_TAG}:${MANAGED_VALUE}`];
}

export function taggedFor(tags: Record<string, string> | undefined | null, poolName: string): boolean {
  return tags?.[POOL_TAG] === poolName;
}

export function graphTaggedFor(tags: readonly string[] | undefined | null, poolName: string): boolean {
  return Boolean(tags?.includes(`${POOL_TAG}:${poolName}`));
}

/**
 * A role assignment's name is a GUID the caller picks: derived from scope, role and principal, a
 * re-run (or a retried PUT) names the same assignment and cannot make a second.
 */
export function roleAssignmentName(scope: string, roleDefinitionId: string, principalId: string): string {
  const h = createHash("sha256").update(`${scope.toLowerCase()}|${roleDefinitionId.toLowerCase()}|${principalId.toLowerCase()}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function resourceGroupScope(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}
