import { ArmError, notFound, resourceGroupNotFound } from "../arm-error.js";
import { matchesTagFilter, type ArmResource } from "../arm-state.js";
import { AsyncOperations } from "../async-operations.js";
import type { Route, RouteRequest, RouteResponse } from "../router.js";
import { apiVersion, checkSubscription, RG, type ServerContext } from "./context.js";

/** One kind of resource in a resource group, kept as an ArmResource: its PUT, GET, PATCH (tags), DELETE and lists. */
export interface TrackedResourceKind {
  /** e.g. `Microsoft.ManagedIdentity` */
  namespace: string;
  /** e.g. `userAssignedIdentities` */
  type: string;
  /** The operation ids' prefix, e.g. `UserAssignedIdentities`. */
  operations: string;
  /** Name of the PUT/DELETE operation ids (`CreateOrUpdate` or `Create`). */
  createVerb: "CreateOrUpdate" | "Create";
  /** PUT and DELETE are long-running (201/202 + `Azure-AsyncOperation`). */
  longRunning: boolean;
  /** Throws a 400 for a bad name, or a 409 when the name is taken elsewhere. */
  checkName(name: string, id: string): void;
  /** The resource a PUT makes (existing: the one it replaces). */
  build(input: { id: string; name: string; body: Record<string, unknown>; existing: ArmResource | undefined }): ArmResource;
  /** Called after the resource is gone. */
  deleted?(resource: ArmResource): void;
}

export function resourceView(resource: ArmResource): Record<string, unknown> {
  return {
    id: resource.id,
    name: resource.name,
    type: resource.type,
    ...(resource.location === undefined ? {} : { location: resource.location }),
    tags: resource.tags ?? {},
    ...(resource.sku === undefined ? {} : { sku: resource.sku }),
    ...(resource.identity === undefined ? {} : { identity: resource.identity }),
    properties: resource.properties,
  };
}

export function trackedResourceRoutes(context: ServerContext, kind: TrackedResourceKind, removeChildren: (resourceId: string) => void): Route[] {
  const fullType = `${kind.namespace}/${kind.type}`;
  const template = `${RG}/providers/${kind.namespace}/${kind.type}/{resourceName}`;
  const idOf = (p: Record<string, string>, rgName = p["resourceGroupName"]!): string => `/subscriptions/${context.subscriptionId}/resourceGroups/${rgName}/providers/${fullType}/${p["resourceName"]}`;
  const authorize = (verb: string) => (p: Record<string, string>) => ({ action: `${fullType}/${verb}`, scope: idOf(p) });
  const inResourceGroup = ({ params }: RouteRequest): string => {
    checkSubscription(context, params["subscriptionId"]!);
    const group = context.arm.resourceGroup(params["subscriptionId"]!, params["resourceGroupName"]!);
    if (group === undefined) throw resourceGroupNotFound(params["resourceGroupName"]!);
    return group.name;
  };
  const existing = (request: RouteRequest): ArmResource => {
    inResourceGroup(request);
    const found = context.arm.resources.get(idOf(request.params).toLowerCase());
    if (found === undefined) throw notFound(fullType, request.params["resourceName"]!, request.params["resourceGroupName"]);
    return found;
  };
  const lro = (request: RouteRequest, status: number, body: unknown, location: string): RouteResponse => {
    const operation = context.operations.start(context.subscriptionId, kind.namespace, location);
    context.operations.succeed(operation);
    return { status, ...(body === undefined ? {} : { body }), headers: AsyncOperations.headers(request.baseUrl, operation, apiVersion(request.query)) };
  };
  const list = (prefix: string, filter: string | null): RouteResponse => ({
    status: 200,
    body: { value: context.arm.list(prefix, fullType).filter((r) => matchesTagFilter(r.tags, filter)).map(resourceView) },
  });
  return [
    {
      method: "PUT",
      template,
      operation: `${kind.operations}_${kind.createVerb}`,
      authorize: authorize("write"),
      handle: (request) => {
        const rgName = inResourceGroup(request);
        const name = request.params["resourceName"]!;
        const id = idOf(request.params, rgName);
        kind.checkName(name, id);
        const body = request.body;
        if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: a JSON object is expected.");
        const previous = context.arm.resources.get(id.toLowerCase());
        const resource = kind.build({ id, name, body: body as Record<string, unknown>, existing: previous });
        context.arm.resources.set(id.toLowerCase(), resource);
        const status = previous === undefined ? 201 : 200;
        return kind.longRunning ? lro(request, status, resourceView(resource), resource.location ?? "westeurope") : { status, body: resourceView(resource) };
      },
    },
    { method: "GET", template, operation: `${kind.operations}_Get`, authorize: authorize("read"), handle: (request) => ({ status: 200, body: resourceView(existing(request)) }) },
    {
      method: "PATCH",
      template,
      operation: `${kind.operations}_Update`,
      authorize: authorize("write"),
      handle: (request) => {
        const resource = existing(request);
        const body = (request.body ?? {}) as { tags?: Record<string, string>; properties?: Record<string, unknown> };
        if (body.tags !== undefined) resource.tags = body.tags;
        if (body.properties !== undefined) resource.properties = { ...resource.properties, ...body.properties };
        return kind.longRunning ? lro(request, 200, resourceView(resource), resource.location ?? "westeurope") : { status: 200, body: resourceView(resource) };
      },
    },
    {
      method: "DELETE",
      template,
      operation: `${kind.operations}_Delete`,
      authorize: authorize("delete"),
      handle: (request) => {
        inResourceGroup(request);
        const id = idOf(request.params).toLowerCase();
        const resource = context.arm.resources.get(id);
        if (resource === undefined) return { status: 204 };
        context.arm.resources.delete(id);
        removeChildren(resource.id);
        kind.deleted?.(resource);
        return kind.longRunning ? lro(request, 202, undefined, resource.location ?? "westeurope") : { status: 200 };
      },
    },
    {
      method: "GET",
      template: `${RG}/providers/${kind.namespace}/${kind.type}`,
      operation: `${kind.operations}_ListByResourceGroup`,
      authorize: (p) => ({ action: `${fullType}/read`, scope: `/subscriptions/${p["subscriptionId"]}/resourceGroups/${p["resourceGroupName"]}` }),
      handle: (request) => list(`/subscriptions/${context.subscriptionId}/resourceGroups/${inResourceGroup(request)}/`, request.query.get("$filter")),
    },
    {
      method: "GET",
      template: `/subscriptions/{subscriptionId}/providers/${kind.namespace}/${kind.type}`,
      operation: `${kind.operations}_ListBySubscription`,
      authorize: (p) => ({ action: `${fullType}/read`, scope: `/subscriptions/${p["subscriptionId"]}` }),
      handle: ({ params, query }) => {
        checkSubscription(context, params["subscriptionId"]!);
        return list(`/subscriptions/${context.subscriptionId}/`, query.get("$filter"));
      },
    },
  ];
}
