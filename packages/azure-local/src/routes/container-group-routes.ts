import { ArmError, notFound, resourceGroupNotFound } from "../arm-error.js";
import { AsyncOperations } from "../async-operations.js";
import { checkContainerGroupName, parseContainerGroup } from "../container-group-spec.js";
import type { ContainerGroupRecord } from "../container-groups.js";
import { authorizationFailedMessage, isAllowed } from "../authorization.js";
import type { ContainerGroupSpec } from "../container-group-spec.js";
import type { Principal, Route, RouteRequest } from "../router.js";
import { apiVersion, checkSubscription, RG, type ServerContext } from "./context.js";

const TYPE = "Microsoft.ContainerInstance/containerGroups";
const GROUP = `${RG}/providers/Microsoft.ContainerInstance/containerGroups/{containerGroupName}`;

/** Microsoft.ContainerInstance: container groups (long-running PUT and DELETE, GET with instance views, list, stop, start), container logs, and the async operations they hand out. */
export function containerGroupRoutes(context: ServerContext): Route[] {
  const groupId = (p: Record<string, string>): string => `/subscriptions/${p["subscriptionId"]}/resourceGroups/${p["resourceGroupName"]}/providers/${TYPE}/${p["containerGroupName"]}`;
  const authorize = (verb: string) => (p: Record<string, string>) => ({ action: `${TYPE}/${verb}`, scope: groupId(p) });
  const existing = ({ params }: RouteRequest): ContainerGroupRecord => {
    checkSubscription(context, params["subscriptionId"]!);
    if (context.arm.resourceGroup(params["subscriptionId"]!, params["resourceGroupName"]!) === undefined) throw resourceGroupNotFound(params["resourceGroupName"]!);
    const record = context.containerGroups.get(groupId(params));
    if (record === undefined) throw notFound(TYPE, params["containerGroupName"]!, params["resourceGroupName"]);
    return record;
  };
  const list = (prefix: string) => ({ status: 200, body: { value: context.containerGroups.list(prefix).map((g) => context.containerGroups.view(g)) } });
  return [
    {
      method: "PUT",
      template: GROUP,
      operation: "ContainerGroups_CreateOrUpdate",
      authorize: authorize("write"),
      handle: ({ params, body, baseUrl, query, principal, path, method }) => {
        checkSubscription(context, params["subscriptionId"]!);
        const resourceGroup = context.arm.resourceGroup(params["subscriptionId"]!, params["resourceGroupName"]!);
        if (resourceGroup === undefined) throw resourceGroupNotFound(params["resourceGroupName"]!);
        const name = params["containerGroupName"]!;
        checkContainerGroupName(name);
        const spec = parseContainerGroup(body);
        checkLinkedResources(context, spec, principal, groupId(params));
        const found = context.containerGroups.get(groupId(params));
        if (found?.provisioningState === "Deleting") throw new ArmError(409, "ContainerGroupTransitioning", `The container group '${name}' is still transitioning, please retry later.`);
        const operation = context.operations.start(context.subscriptionId, "Microsoft.ContainerInstance", spec.location);
        const failure = context.faults.take("asynchronous", "ContainerGroups_CreateOrUpdate", method, path);
        const failWith = failure === null ? undefined : { code: failure.code, message: failure.message };
        if (found !== undefined) {
          const followed = context.containerGroups.update(found, spec, operation, failWith);
          return { status: 200, body: context.containerGroups.view(found), headers: AsyncOperations.headers(baseUrl, followed, apiVersion(query)) };
        }
        const id = `/subscriptions/${context.subscriptionId}/resourceGroups/${resourceGroup.name}/providers/${TYPE}/${name}`;
        const record = context.containerGroups.create({ id, name, subscriptionId: context.subscriptionId, resourceGroup: resourceGroup.name, spec }, operation, failWith);
        return { status: 201, body: context.containerGroups.view(record), headers: AsyncOperations.headers(baseUrl, operation, apiVersion(query)) };
      },
    },
    { method: "GET", template: GROUP, operation: "ContainerGroups_Get", authorize: authorize("read"), handle: (request) => ({ status: 200, body: context.containerGroups.view(existing(request)) }) },
    {
      method: "DELETE",
      template: GROUP,
      operation: "ContainerGroups_Delete",
      authorize: authorize("delete"),
      handle: (request) => {
        checkSubscription(context, request.params["subscriptionId"]!);
        const record = context.containerGroups.get(groupId(request.params));
        if (record === undefined) return { status: 204 };
        const operation = context.operations.start(context.subscriptionId, "Microsoft.ContainerInstance", record.spec.location);
        const body = context.containerGroups.view(record);
        context.containerGroups.delete(record, operation);
        return { status: 202, body, headers: AsyncOperations.headers(request.baseUrl, operation, apiVersion(request.query)) };
      },
    },
    {
      method: "POST",
      template: `${GROUP}/stop`,
      operation: "ContainerGroups_Stop",
      authorize: authorize("stop/action"),
      handle: async (request) => {
        await context.containerGroups.stop(existing(request));
        return { status: 204 };
      },
    },
    {
      method: "GET",
      template: `${GROUP}/containers/{containerName}/logs`,
      operation: "Containers_ListLogs",
      authorize: authorize("containers/logs/read"),
      handle: (request) => {
        const record = existing(request);
        const tail = request.query.get("tail");
        const content = context.containerGroups.logs(record, request.params["containerName"]!, tail === null ? undefined : Number(tail), request.query.get("timestamps") === "true");
        if (content === undefined) throw new ArmError(404, "ContainerNotFound", `The container '${request.params["containerName"]}' could not be found in container group '${record.name}'.`);
        return { status: 200, body: { content } };
      },
    },
    {
      method: "GET",
      template: `${RG}/providers/Microsoft.ContainerInstance/containerGroups`,
      operation: "ContainerGroups_ListByResourceGroup",
      authorize: (p) => ({ action: `${TYPE}/read`, scope: `/subscriptions/${p["subscriptionId"]}/resourceGroups/${p["resourceGroupName"]}` }),
      handle: ({ params }) => list(`/subscriptions/${params["subscriptionId"]}/resourceGroups/${params["resourceGroupName"]}/`),
    },
    {
      method: "GET",
      template: "/subscriptions/{subscriptionId}/providers/Microsoft.ContainerInstance/containerGroups",
      operation: "ContainerGroups_List",
      authorize: (p) => ({ action: `${TYPE}/read`, scope: `/subscriptions/${p["subscriptionId"]}` }),
      handle: ({ params }) => list(`/subscriptions/${params["subscriptionId"]}/`),
    },
    {
      method: "GET",
      template: "/subscriptions/{subscriptionId}/providers/{namespace}/locations/{location}/operations/{operationId}",
      operation: "AsyncOperations_Get",
      handle: ({ params }) => {
        const operation = context.operations.get(params["operationId"]!);
        if (operation === undefined) throw new ArmError(404, "OperationNotFound", `The operation '${params["operationId"]}' could not be found.`);
        return { status: 200, body: AsyncOperations.view(operation) };
      },
    },
  ];
}

/**
 * What ARM checks of the resources a container group links to: its user-assigned identities must exist
 * and the caller must be allowed to assign them (403 LinkedAuthorizationFailed otherwise); subnets
 * cannot be joined here, as azure-local serves no virtual networks.
 */
function checkLinkedResources(context: ServerContext, spec: ContainerGroupSpec, principal: Principal, groupId: string): void {
  for (const identityId of spec.userAssignedIdentities) {
    const identity = context.arm.resources.get(identityId.toLowerCase());
    if (identity === undefined || identity.type !== "Microsoft.ManagedIdentity/userAssignedIdentities") {
      throw new ArmError(400, "FailedIdentityOperation", `Identity operation for resource '${groupId}' failed with error 'Failed to perform resource identity operation. Status: 'NotFound'. Response: '{"error":{"code":"NotFound","message":"Resource '${identityId}' was not found."}}'.'.`);
    }
    const action = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";
    if (!isAllowed(context.arm.grants(), principal.objectId, action, identity.id)) {
      const denied = authorizationFailedMessage(principal.appId, principal.objectId, action, identity.id);
      throw new ArmError(403, "LinkedAuthorizationFailed", `The client '${principal.appId}' with object id '${principal.objectId}' has permission to perform action 'Microsoft.ContainerInstance/containerGroups/write' on scope '${groupId}'; however, it does not have permission to perform action(s) '${action}' on the linked scope(s) '${identity.id}' (respectively) or the linked scope(s) are invalid. (${denied})`);
    }
  }
  for (const subnetId of spec.subnetIds) {
    throw new ArmError(400, "SubnetNotFound", `The subnet '${subnetId}' of container group '${groupId.split("/").pop()}' could not be found: azure-local serves no virtual networks, so subnet_ids cannot be used against it.`);
  }
}
