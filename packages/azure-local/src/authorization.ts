/** Built-in role definitions (their real ids) and the check ARM makes: may this principal do this action at this scope? */
export interface RoleDefinition {
  /** The GUID, the last segment of the role definition's id. */
  name: string;
  roleName: string;
  description: string;
  actions: string[];
  notActions: string[];
  dataActions: string[];
}

export const BUILT_IN_ROLES: readonly RoleDefinition[] = [
  { name: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", roleName: "Owner", description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.", actions: ["*"], notActions: [], dataActions: [] },
  {
    name: "b24988ac-6180-42a0-ab88-20f7382dd24c",
    roleName: "Contributor",
    description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
    actions: ["*"],
    notActions: ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"],
    dataActions: [],
  },
  { name: "acdd72a7-3385-48ef-bd42-f606fba81ae7", roleName: "Reader", description: "View all resources, but does not allow you to make any changes.", actions: ["*/read"], notActions: [], dataActions: [] },
  { name: "7f951dda-4ed3-4680-a7ca-43fe172d538d", roleName: "AcrPull", description: "acr pull", actions: ["Microsoft.ContainerRegistry/registries/pull/read"], notActions: [], dataActions: [] },
  {
    name: "8311e382-0749-4cb8-b61a-304f252e45ec",
    roleName: "AcrPush",
    description: "acr push",
    actions: ["Microsoft.ContainerRegistry/registries/pull/read", "Microsoft.ContainerRegistry/registries/push/write"],
    notActions: [],
    dataActions: [],
  },
  {
    name: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    roleName: "User Access Administrator",
    description: "Lets you manage user access to Azure resources.",
    actions: ["*/read", "Microsoft.Authorization/*"],
    notActions: [],
    dataActions: [],
  },
];

export interface RoleAssignmentGrant {
  principalId: string;
  /** The full role definition id; only its last segment (the GUID) is compared. */
  roleDefinitionId: string;
  scope: string;
}

function patternMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`, "i");
  return regex.test(action);
}

/** Whether a role's actions (less its notActions) cover `action`. */
export function roleAllows(role: RoleDefinition, action: string): boolean {
  return role.actions.some((p) => patternMatches(p, action)) && !role.notActions.some((p) => patternMatches(p, action));
}

/** Whether `scope` is at or under `assignedScope` (case-insensitive, by path segments). */
export function scopeCovers(assignedScope: string, scope: string): boolean {
  const parent = assignedScope.replace(/\/+$/, "").toLowerCase();
  const child = scope.replace(/\/+$/, "").toLowerCase();
  return parent === "" || parent === "/" || child === parent || child.startsWith(`${parent}/`);
}

export function roleById(roleDefinitionId: string): RoleDefinition | undefined {
  const guid = roleDefinitionId.split("/").pop()?.toLowerCase();
  return BUILT_IN_ROLES.find((r) => r.name === guid);
}

export function isAllowed(grants: readonly RoleAssignmentGrant[], principalId: string, action: string, scope: string): boolean {
  return grants.some((grant) => {
    if (grant.principalId !== principalId || !scopeCovers(grant.scope, scope)) return false;
    const role = roleById(grant.roleDefinitionId);
    return role !== undefined && roleAllows(role, action);
  });
}

/** Azure's message for a 403 AuthorizationFailed. */
export function authorizationFailedMessage(appId: string, objectId: string, action: string, scope: string): string {
  return `The client '${appId}' with object id '${objectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`;
}
