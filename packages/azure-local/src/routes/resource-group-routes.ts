import { ArmError, resourceGroupNotFound } from "../arm-error.js";
import { matchesTagFilter, type ArmResource } from "../arm-state.js";
import type { Route } from "../router.js";
import { apiVersion, checkSubscription, RG, type ServerContext } from "./context.js";

const RG_ACTION = "Microsoft.Resources/subscriptions/resourceGroups";

function view(group: ArmResource): Record<string, unknown> {
  return { id: group.id, name: group.name, type: "Microsoft.Resources/resourceGroups", location: group.location, tags: group.tags ?? {}, properties: { provisioningState: group.properties["provisioningState"] ?? "Succeeded" } };
}

/** Subscriptions (GET, list) and resource groups (PUT, GET, HEAD, list with a tag filter, DELETE with everything in it). */
export function resourceGroupRoutes(context: ServerContext, deleteContents: (resourceGroupId: string) => Promise<void>): Route[] {
  const subscriptionView = (): Record<string, unknown> => ({
    id: `/subscriptions/${context.subscriptionId}`,
    subscriptionId: context.subscriptionId,
    tenantId: context.tenantId,
    displayName: context.subscriptionName,
    state: "Enabled",
    subscriptionPolicies: { locationPlacementId: "Public_2014-09-01", quotaId: "PayAsYouGo_2014-09-01", spendingLimit: "Off" },
    authorizationSource: "RoleBased",
  });
  /** Where a long-running resource group DELETE is polled (`Location`): 202 until done, then 200. */
  const operationResultUrl = (baseUrl: string, id: string, version: string): string => `${baseUrl}/subscriptions/${context.subscriptionId}/operationresults/${id}?api-version=${encodeURIComponent(version)}`;
  const scope = (p: Record<string, string>): string => `/subscriptions/${p["subscriptionId"]}/resourceGroups/${p["resourceGroupName"]}`;
  return [
    { method: "GET", template: "/subscriptions", operation: "Subscriptions_List", handle: () => ({ status: 200, body: { value: [subscriptionView()] } }) },
    {
      method: "GET",
      template: "/subscriptions/{subscriptionId}",
      operation: "Subscriptions_Get",
      authorize: (p) => ({ action: "Microsoft.Resources/subscriptions/read", scope: `/subscriptions/${p["subscriptionId"]}` }),
      handle: ({ params }) => {
        checkSubscription(context, params["subscriptionId"]!);
        return { status: 200, body: subscriptionView() };
      },
    },
    {
      method: "PUT",
      template: RG,
      operation: "ResourceGroups_CreateOrUpdate",
      authorize: (p) => ({ action: `${RG_ACTION}/write`, scope: scope(p) }),
      handle: ({ params, body }) => {
        checkSubscription(context, params["subscriptionId"]!);
        const input = (body ?? {}) as { location?: unknown; tags?: Record<string, string> };
        const name = params["resourceGroupName"]!;
        if (!/^[-\w._()]{1,90}$/.test(name) || name.endsWith(".")) throw new ArmError(400, "InvalidResourceGroup", `The provided resource group name '${name}' has these invalid characters or length.`);
        const existing = context.arm.resourceGroup(context.subscriptionId, name);
        if (existing?.properties["provisioningState"] === "Deleting") throw new ArmError(409, "ResourceGroupBeingDeleted", `The resource group '${existing.name}' is in deprovisioning state and cannot perform this operation.`);
        if (existing === undefined && (typeof input.location !== "string" || input.location === "")) throw new ArmError(400, "LocationRequired", "The location property is required for this definition.");
        if (existing !== undefined && typeof input.location === "string" && input.location.toLowerCase() !== existing.location?.toLowerCase()) {
          throw new ArmError(409, "InvalidResourceGroupLocation", `Invalid resource group location '${input.location}'. The Resource group already exists in location '${existing.location}'.`);
        }
        const group: ArmResource = { id: context.arm.resourceGroupId(context.subscriptionId, existing?.name ?? name), name: existing?.name ?? name, type: "Microsoft.Resources/resourceGroups", location: existing?.location ?? (input.location as string), tags: input.tags ?? {}, properties: {} };
        context.arm.resourceGroups.set(group.id.toLowerCase(), group);
        return { status: existing === undefined ? 201 : 200, body: view(group) };
      },
    },
    {
      method: "GET",
      template: RG,
      operation: "ResourceGroups_Get",
      authorize: (p) => ({ action: `${RG_ACTION}/read`, scope: scope(p) }),
      handle: ({ params }) => {
        const group = context.arm.resourceGroup(params["subscriptionId"]!, params["resourceGroupName"]!);
        if (group === undefined) throw resourceGroupNotFound(params["resourceGroupName"]!);
        return { status: 200, body: view(group) };
      },
    },
    {
      method: "HEAD",
      template: RG,
      operation: "ResourceGroups_CheckExistence",
      authorize: (p) => ({ action: `${RG_ACTION}/read`, scope: scope(p) }),
      handle: ({ params }) => ({ status: context.arm.resourceGroup(params["subscriptionId"]!, params["resourceGroupName"]!) === undefined ? 404 : 204 }),
    },
    {
      method: "GET",
      template: "/subscriptions/{subscriptionId}/resourcegroups",
      operation: "ResourceGroups_List",
      authorize: (p) => ({ action: `${RG_ACTION}/read`, scope: `/subscriptions/${p["subscriptionId"]}` }),
      handle: ({ params, query }) => {
        checkSubscription(context, params["subscriptionId"]!);
        const value = [...context.arm.resourceGroups.values()].filter((g) => matchesTagFilter(g.tags, query.get("$filter"))).map(view);
        return { status: 200, body: { value } };
      },
    },
    {
      method: "DELETE",
      template: RG,
      operation: "ResourceGroups_Delete",
      authorize: (p) => ({ action: `${RG_ACTION}/delete`, scope: scope(p) }),
      handle: ({ params, baseUrl, query }) => {
        const group = context.arm.resourceGroup(params["subscriptionId"]!, params["resourceGroupName"]!);
        if (group === undefined) throw resourceGroupNotFound(params["resourceGroupName"]!);
        const operation = context.operations.start(context.subscriptionId, "Microsoft.Resources", group.location ?? "westeurope");
        if (group.properties["provisioningState"] !== "Deleting") {
          group.properties["provisioningState"] = "Deleting";
          void deleteContents(group.id).finally(() => {
            context.arm.resourceGroups.delete(group.id.toLowerCase());
            context.operations.succeed(operation);
          });
        }
        return { status: 202, headers: { Location: operationResultUrl(baseUrl, operation.id, apiVersion(query)) } };
      },
    },
    {
      method: "GET",
      template: "/subscriptions/{subscriptionId}/operationresults/{operationId}",
      operation: "OperationResults_Get",
      handle: ({ params, baseUrl, query }) => {
        const operation = context.operations.get(params["operationId"]!);
        if (operation === undefined) throw new ArmError(404, "OperationNotFound", `The operation '${params["operationId"]}' could not be found.`);
        if (operation.status === "InProgress") return { status: 202, headers: { Location: operationResultUrl(baseUrl, operation.id, apiVersion(query)) } };
        if (operation.status === "Failed") throw new ArmError(400, operation.error?.code ?? "OperationFailed", operation.error?.message ?? "The operation failed.");
        return { status: 200 };
      },
    },
  ];
}
