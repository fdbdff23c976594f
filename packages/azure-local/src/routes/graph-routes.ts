import { ArmError } from "../arm-error.js";
import { applicationView, passwordView, servicePrincipalView, type Application, type ServicePrincipal } from "../directory.js";
import { graphFilter, type GraphObject } from "../graph-filter.js";
import type { Principal, Route, RouteRequest } from "../router.js";
import type { ServerContext } from "./context.js";

const V1 = "/v1.0";

function requireWriter(principal: Principal): void {
  if (!principal.directoryWriter) {
    throw new ArmError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
  }
}

const notFound = (id: string): ArmError => new ArmError(404, "Request_ResourceNotFound", `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);

function list<T>(items: Iterable<T>, view: (item: T) => Record<string, unknown>, request: RouteRequest, context: string): { status: number; body: unknown } {
  let predicate: (o: GraphObject) => boolean;
  try {
    predicate = graphFilter(request.query.get("$filter"));
  } catch (error) {
    throw new ArmError(400, "Request_UnsupportedQuery", (error as Error).message);
  }
  const value = [...items].map(view).filter((o) => predicate(o as GraphObject));
  const top = Number(request.query.get("$top") ?? NaN);
  return { status: 200, body: { "@odata.context": `${request.baseUrl}${V1}/$metadata#${context}`, value: Number.isFinite(top) ? value.slice(0, top) : value } };
}

/** Microsoft Graph v1.0: app registrations (create, list/get, update, delete, addPassword, removePassword) and service principals (create, list/get, delete). Only a directory writer (the owner) may call them. */
export function graphRoutes(context: ServerContext): Route[] {
  const { directory } = context;
  const app = (request: RouteRequest): Application => {
    requireWriter(request.principal);
    const found = directory.applications.get(request.params["id"]!);
    if (found === undefined) throw notFound(request.params["id"]!);
    return found;
  };
  const appByAppId = (request: RouteRequest): Application => {
    requireWriter(request.principal);
    const found = directory.applicationByAppId(request.params["appId"]!);
    if (found === undefined) throw notFound(request.params["appId"]!);
    return found;
  };
  const sp = (request: RouteRequest): ServicePrincipal => {
    requireWriter(request.principal);
    const found = directory.servicePrincipals.get(request.params["id"]!);
    if (found === undefined) throw notFound(request.params["id"]!);
    return found;
  };
  const body = (request: RouteRequest): Record<string, unknown> => (typeof request.body === "object" && request.body !== null ? (request.body as Record<string, unknown>) : {});
  const stringList = (value: unknown): string[] | undefined => (Array.isArray(value) ? value.map(String) : undefined);

  return [
    {
      method: "POST",
      template: `${V1}/applications`,
      operation: "Applications_Create",
      handle: (request) => {
        requireWriter(request.principal);
        const input = body(request);
        if (typeof input["displayName"] !== "string" || input["displayName"] === "") throw new ArmError(400, "Request_BadRequest", "Property 'displayName' is required: an application needs a display name.");
        const created = directory.createApplication({ displayName: input["displayName"], ...(stringList(input["tags"]) === undefined ? {} : { tags: stringList(input["tags"])! }), notes: typeof input["notes"] === "string" ? input["notes"] : null });
        return { status: 201, body: { "@odata.context": `${request.baseUrl}${V1}/$metadata#applications/$entity`, ...applicationView(created) } };
      },
    },
    {
      method: "GET",
      template: `${V1}/applications`,
      operation: "Applications_List",
      handle: (request) => {
        requireWriter(request.principal);
        return list(directory.applications.values(), applicationView, request, "applications");
      },
    },
    { method: "GET", template: `${V1}/applications/{id}`, operation: "Applications_Get", handle: (request) => ({ status: 200, body: applicationView(app(request)) }) },
    { method: "GET", template: `${V1}/applications(appId='{appId}')`, operation: "Applications_GetByAppId", handle: (request) => ({ status: 200, body: applicationView(appByAppId(request)) }) },
    {
      method: "PATCH",
      template: `${V1}/applications/{id}`,
      operation: "Applications_Update",
      handle: (request) => {
        const found = app(request);
        const input = body(request);
        if (typeof input["displayName"] === "string") found.displayName = input["displayName"];
        if (stringList(input["tags"]) !== undefined) found.tags = stringList(input["tags"])!;
        if (typeof input["notes"] === "string") found.notes = input["notes"];
        return { status: 204 };
      },
    },
    {
      method: "DELETE",
      template: `${V1}/applications/{id}`,
      operation: "Applications_Delete",
      handle: (request) => {
        directory.deleteApplication(app(request).id);
        return { status: 204 };
      },
    },
    {
      method: "POST",
      template: `${V1}/applications/{id}/addPassword`,
      operation: "Applications_AddPassword",
      handle: (request) => {
        const found = app(request);
        const credential = (body(request)["passwordCredential"] ?? {}) as { displayName?: unknown; endDateTime?: unknown };
        const { credential: added, secretText } = directory.addPassword(found, typeof credential.displayName === "string" ? credential.displayName : null, typeof credential.endDateTime === "string" ? credential.endDateTime : undefined);
        return { status: 200, body: { "@odata.context": `${request.baseUrl}${V1}/$metadata#microsoft.graph.passwordCredential`, ...passwordView(added), secretText } };
      },
    },
    {
      method: "POST",
      template: `${V1}/applications/{id}/removePassword`,
      operation: "Applications_RemovePassword",
      handle: (request) => {
        const found = app(request);
        const keyId = String(body(request)["keyId"] ?? "");
        const index = found.passwordCredentials.findIndex((c) => c.keyId === keyId);
        if (index < 0) throw new ArmError(400, "Request_BadRequest", `No password credential with keyId '${keyId}' on application '${found.id}'.`);
        found.passwordCredentials.splice(index, 1);
        return { status: 204 };
      },
    },
    {
      method: "POST",
      template: `${V1}/servicePrincipals`,
      operation: "ServicePrincipals_Create",
      handle: (request) => {
        requireWriter(request.principal);
        const input = body(request);
        const appId = String(input["appId"] ?? "");
        const registration = directory.applicationByAppId(appId);
        if (registration === undefined) throw new ArmError(400, "Request_BadRequest", `The appId '${appId}' of the service principal does not reference a valid application object.`);
        if (directory.servicePrincipalByAppId(appId) !== undefined) {
          throw new ArmError(409, "Request_MultipleObjectsWithSameKeyValue", `The service principal cannot be created, updated, or restored because the service principal name ${appId} is already in use.`);
        }
        const created = directory.createServicePrincipal(registration, stringList(input["tags"]) === undefined ? {} : { tags: stringList(input["tags"])! });
        return { status: 201, body: { "@odata.context": `${request.baseUrl}${V1}/$metadata#servicePrincipals/$entity`, ...servicePrincipalView(created) } };
      },
    },
    {
      method: "GET",
      template: `${V1}/servicePrincipals`,
      operation: "ServicePrincipals_List",
      handle: (request) => {
        requireWriter(request.principal);
        return list(directory.servicePrincipals.values(), servicePrincipalView, request, "servicePrincipals");
      },
    },
    { method: "GET", template: `${V1}/servicePrincipals/{id}`, operation: "ServicePrincipals_Get", handle: (request) => ({ status: 200, body: servicePrincipalView(sp(request)) }) },
    {
      method: "GET",
      template: `${V1}/servicePrincipals(appId='{appId}')`,
      operation: "ServicePrincipals_GetByAppId",
      handle: (request) => {
        requireWriter(request.principal);
        const found = directory.servicePrincipalByAppId(request.params["appId"]!);
        if (found === undefined) throw notFound(request.params["appId"]!);
        return { status: 200, body: servicePrincipalView(found) };
      },
    },
    {
      method: "DELETE",
      template: `${V1}/servicePrincipals/{id}`,
      operation: "ServicePrincipals_Delete",
      handle: (request) => {
        directory.servicePrincipals.delete(sp(request).id);
        return { status: 204 };
      },
    },
  ];
}
