import type { RoleAssignmentGrant } from "./authorization.js";

/** An ARM resource azure-local keeps as given (resource groups, identities, registries, role assignments). */
export interface ArmResource {
  id: string;
  name: string;
  type: string;
  location?: string;
  tags?: Record<string, string>;
  properties: Record<string, unknown>;
  sku?: unknown;
  identity?: unknown;
}

export interface RoleAssignment extends RoleAssignmentGrant {
  id: string;
  name: string;
  principalType: string;
  description?: string;
  createdOn: string;
}

/** The resources of the subscription, by lower-cased id. */
export class ArmState {
  readonly resourceGroups = new Map<string, ArmResource>();
  readonly resources = new Map<string, ArmResource>();
  readonly roleAssignments = new Map<string, RoleAssignment>();
  /** A registry's admin passwords (by its lower-cased id), made by the first listCredentials. */
  readonly registryPasswords = new Map<string, string[]>();

  resourceGroupId(subscriptionId: string, name: string): string {
    return `/subscriptions/${subscriptionId}/resourceGroups/${name}`;
  }

  resourceGroup(subscriptionId: string, name: string): ArmResource | undefined {
    return this.resourceGroups.get(this.resourceGroupId(subscriptionId, name).toLowerCase());
  }

  /** Resources whose id starts with `prefix` (case-insensitive) and are of `type` when given. */
  list(prefix: string, type?: string): ArmResource[] {
    const lower = prefix.toLowerCase();
    return [...this.resources.values()].filter((r) => r.id.toLowerCase().startsWith(lower) && (type === undefined || r.type.toLowerCase() === type.toLowerCase()));
  }

  grants(): RoleAssignmentGrant[] {
    return [...this.roleAssignments.values()];
  }
}

export function matchesTagFilter(tags: Record<string, string> | undefined, filter: string | null): boolean {
  if (filter === null || filter === "") return true;
  const name = /tagName\s+eq\s+'([^']*)'/i.exec(filter)?.[1];
  const value = /tagValue\s+eq\s+'([^']*)'/i.exec(filter)?.[1];
  if (name === undefined) return true;
  const key = Object.keys(tags ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined) return false;
  return value === undefined || tags![key] === value;
}
