import { ArmError, badRequest, notFound, resourceGroupNotFound } from "../arm-error.js";
import type { RoleAssignment } from "../arm-state.js";
import { BUILT_IN_ROLES, roleById, scopeCovers, type RoleDefinition } from "../authorization.js";
import type { Route } from "../router.js";
import type { ServerContext } from "./context.js";

const AUTH = "/providers/Microsoft.Authorization";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function assignmentView(a: RoleAssignment): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    type: "Microsoft.Authorization/roleAssignments",
    properties: { roleDefinitionId: a.roleDefinitionId, principalId: a.principalId, principalType: a.principalType, scope: a.scope, ...(a.description === undefined ? {} : { description: a.description }), createdOn: a.createdOn, updatedOn: a.createdOn },
  };
}

/** Role assignments (PUT, GET, list for a scope with `atScope()` / `principalId eq` filters, DELETE) and the built-in role definitions (list by `roleName eq`, GET). */
export function authorizationRoutes(context: ServerContext, principalExists: (principalId: string) => boolean): Route[] {
  const definitionId = (guid: string): string => `/subscriptions/${context.subscriptionId}${AUTH}/roleDefinitions/${guid}`;
  const definitionView = (role: RoleDefinition): Record<string, unknown> => ({
    id: definitionId(role.name),
    name: role.name,
    type: "Microsoft.Authorization/roleDefinitions",
    properties: { roleName: role.roleName, type: "BuiltInRole", description: role.description, assignableScopes: ["/"], permissions: [{ actions: role.actions, notActions: role.notActions, dataActions: role.dataActions, notDataActions: [] }] },
  });

  /** A 404 like ARM's when the scope does not exist. */
  const checkScope = (scope: string): void => {
    const match = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+)(\/providers\/.+)?)?$/i.exec(scope);
    if (match === null) throw badRequest("InvalidScope", `The scope '${scope}' is not a subscription, resource group or resource id.`);
    if (match[1]!.toLowerCase() !== context.subscriptionId.toLowerCase()) throw new ArmError(404, "SubscriptionNotFound", `The subscription '${match[1]}' could not be found.`);
    if (match[2] === undefined) return;
    if (context.arm.resourceGroup(context.subscriptionId, match[2]) === undefined) throw resourceGroupNotFound(match[2]);
    if (match[3] === undefined) return;
    if (!context.arm.resources.has(scope.toLowerCase()) && context.containerGroups.get(scope) === undefined) {
      const parts = match[3].split("/");
      throw notFound(`${parts[2]}/${parts[3]}`, parts.at(-1)!, match[2]);
    }
  };
  const assignmentKey = (scope: string, name: string): string => `${scope}${AUTH}/roleAssignments/${name}`.toLowerCase();

  return [
    {
      method: "PUT",
      template: `{scope*}${AUTH}/roleAssignments/{roleAssignmentName}`,
      operation: "RoleAssignments_Create",
      authorize: (p) => ({ action: "Microsoft.Authorization/roleAssignments/write", scope: p["scope"]! }),
      handle: ({ params, body }) => {
        const scope = params["scope"]!;
        const name = params["roleAssignmentName"]!;
        if (!GUID.test(name)) throw badRequest("InvalidRoleAssignmentId", `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`);
        checkScope(scope);
        const props = ((body ?? {}) as { properties?: { roleDefinitionId?: unknown; principalId?: unknown; principalType?: unknown; description?: unknown } }).properties ?? {};
        const roleDefinitionId = String(props.roleDefinitionId ?? "");
        const principalId = String(props.principalId ?? "");
        if (roleById(roleDefinitionId) === undefined) throw badRequest("RoleDefinitionDoesNotExist", `The specified role definition with ID '${roleDefinitionId.split("/").pop()}' does not exist.`);
        if (!principalExists(principalId)) {
          throw badRequest("PrincipalNotFound", `Principal ${principalId.replace(/-/g, "")} does not exist in the directory ${context.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`);
        }
        const sameRole = (a: RoleAssignment): boolean => roleById(a.roleDefinitionId)?.name === roleById(roleDefinitionId)?.name;
        const key = assignmentKey(scope, name);
        const current = context.arm.roleAssignments.get(key);
        if (current !== undefined) {
          if (current.principalId !== principalId || !sameRole(current)) throw badRequest("RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.");
          return { status: 201, body: assignmentView(current) };
        }
        const duplicate = [...context.arm.roleAssignments.values()].find((a) => a.principalId === principalId && sameRole(a) && a.scope.toLowerCase() === scope.toLowerCase());
        if (duplicate !== undefined) throw new ArmError(409, "RoleAssignmentExists", `The role assignment already exists. The ID of the existing role assignment is ${duplicate.name.replace(/-/g, "")}.`);
        const assignment: RoleAssignment = {
          id: `${scope}${AUTH}/roleAssignments/${name}`,
          name,
          principalId,
          principalType: typeof props.principalType === "string" ? props.principalType : "ServicePrincipal",
          roleDefinitionId: definitionId(roleById(roleDefinitionId)!.name),
          scope,
          ...(typeof props.description === "string" ? { description: props.description } : {}),
          createdOn: new Date(context.now()).toISOString(),
        };
        context.arm.roleAssignments.set(key, assignment);
        return { status: 201, body: assignmentView(assignment) };
      },
    },
    {
      method: "GET",
      template: `{scope*}${AUTH}/roleAssignments/{roleAssignmentName}`,
      operation: "RoleAssignments_Get",
      authorize: (p) => ({ action: "Microsoft.Authorization/roleAssignments/read", scope: p["scope"]! }),
      handle: ({ params }) => {
        const found = context.arm.roleAssignments.get(assignmentKey(params["scope"]!, params["roleAssignmentName"]!));
        if (found === undefined) throw new ArmError(404, "RoleAssignmentNotFound", `The role assignment '${params["roleAssignmentName"]}' is not found.`);
        return { status: 200, body: assignmentView(found) };
      },
    },
    {
      method: "DELETE",
      template: `{scope*}${AUTH}/roleAssignments/{roleAssignmentName}`,
      operation: "RoleAssignments_Delete",
      authorize: (p) => ({ action: "Microsoft.Authorization/roleAssignments/delete", scope: p["scope"]! }),
      handle: ({ params }) => {
        const key = assignmentKey(params["scope"]!, params["roleAssignmentName"]!);
        const found = context.arm.roleAssignments.get(key);
        if (found === undefined) return { status: 204 };
        context.arm.roleAssignments.delete(key);
        return { status: 200, body: assignmentView(found) };
      },
    },
    {
      method: "GET",
      template: `{scope*}${AUTH}/roleAssignments`,
      operation: "RoleAssignments_ListForScope",
      authorize: (p) => ({ action: "Microsoft.Authorization/roleAssignments/read", scope: p["scope"]! }),
      handle: ({ params, query }) => {
        const scope = params["scope"]!;
        const filter = query.get("$filter") ?? "";
        const atScope = /atScope\(\)/i.test(filter);
        const principal = /(?:principalId\s+eq\s+|assignedTo\()'([^']+)'/i.exec(filter)?.[1];
        const value = [...context.arm.roleAssignments.values()]
          .filter((a) => scopeCovers(a.scope, scope) || (!atScope && scopeCovers(scope, a.scope)))
          .filter((a) => principal === undefined || a.principalId.toLowerCase() === principal.toLowerCase())
          .map(assignmentView);
        return { status: 200, body: { value } };
      },
    },
    {
      method: "GET",
      template: `{scope*}${AUTH}/roleDefinitions`,
      operation: "RoleDefinitions_List",
      authorize: (p) => ({ action: "Microsoft.Authorization/roleDefinitions/read", scope: p["scope"]! }),
      handle: ({ query }) => {
        const roleName = /roleName\s+eq\s+'([^']*)'/i.exec(query.get("$filter") ?? "")?.[1];
        const roles = BUILT_IN_ROLES.filter((r) => roleName === undefined || r.roleName.toLowerCase() === roleName.toLowerCase());
        return { status: 200, body: { value: roles.map(definitionView) } };
      },
    },
    {
      method: "GET",
      template: `{scope*}${AUTH}/roleDefinitions/{roleDefinitionId}`,
      operation: "RoleDefinitions_Get",
      authorize: (p) => ({ action: "Microsoft.Authorization/roleDefinitions/read", scope: p["scope"]! }),
      handle: ({ params }) => {
        const role = roleById(params["roleDefinitionId"]!);
        if (role === undefined) throw new ArmError(404, "RoleDefinitionDoesNotExist", `The specified role definition with ID '${params["roleDefinitionId"]}' does not exist.`);
        return { status: 200, body: definitionView(role) };
      },
    },
  ];
}
