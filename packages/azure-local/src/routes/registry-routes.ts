import { randomBytes } from "node:crypto";
import { ArmError, badRequest, notFound, resourceGroupNotFound } from "../arm-error.js";
import type { ArmResource } from "../arm-state.js";
import type { Route } from "../router.js";
import { checkSubscription, RG, type ServerContext } from "./context.js";
import { trackedResourceRoutes } from "./tracked-resources.js";

const TYPE = "Microsoft.ContainerRegistry/registries";

export interface RegistryOptions {
  /** Every registry's login server (e.g. a local registry's `127.0.0.1:5000`); default `<name>.azurecr.io`. */
  loginServer?: string;
}

/** Microsoft.ContainerRegistry/registries: long-running create and delete, names unique across the subscription, admin credentials. */
export function registryRoutes(context: ServerContext, options: RegistryOptions, removeChildren: (resourceId: string) => void): Route[] {
  const byName = (name: string): ArmResource | undefined => context.arm.list("/subscriptions/", TYPE).find((r) => r.name.toLowerCase() === name.toLowerCase());
  const passwords = context.arm.registryPasswords;
  const registry = (params: Record<string, string>): ArmResource => {
    checkSubscription(context, params["subscriptionId"]!);
    if (context.arm.resourceGroup(params["subscriptionId"]!, params["resourceGroupName"]!) === undefined) throw resourceGroupNotFound(params["resourceGroupName"]!);
    const found = context.arm.resources.get(`/subscriptions/${context.subscriptionId}/resourceGroups/${params["resourceGroupName"]}/providers/${TYPE}/${params["registryName"]}`.toLowerCase());
    if (found === undefined) throw notFound(TYPE, params["registryName"]!, params["resourceGroupName"]);
    return found;
  };
  const registryScope = (p: Record<string, string>): string => `/subscriptions/${p["subscriptionId"]}/resourceGroups/${p["resourceGroupName"]}/providers/${TYPE}/${p["registryName"]}`;
  return [
    ...trackedResourceRoutes(
      context,
      {
        namespace: "Microsoft.ContainerRegistry",
        type: "registries",
        operations: "Registries",
        createVerb: "Create",
        longRunning: true,
        checkName(name, id) {
          if (!/^[a-zA-Z0-9]{5,50}$/.test(name)) throw badRequest("InvalidRegistryName", `The registry name '${name}' is invalid: 5–50 letters and digits.`);
          const taken = byName(name);
          if (taken !== undefined && taken.id.toLowerCase() !== id.toLowerCase()) throw new ArmError(409, "AlreadyInUse", `The registry DNS name ${name.toLowerCase()}.azurecr.io is already in use. You can check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability`);
        },
        build({ id, name, body, existing }) {
          const location = typeof body["location"] === "string" ? body["location"] : existing?.location;
          if (location === undefined) throw badRequest("LocationRequired", "The location property is required for this definition.");
          const sku = (body["sku"] as { name?: string } | undefined)?.name;
          if (sku !== "Basic" && sku !== "Standard" && sku !== "Premium") throw badRequest("InvalidSku", "The registry needs a sku: Basic, Standard or Premium.");
          const properties = (body["properties"] as Record<string, unknown> | undefined) ?? {};
          return {
            id,
            name,
            type: TYPE,
            location,
            tags: (body["tags"] as Record<string, string> | undefined) ?? {},
            sku: { name: sku, tier: sku },
            ...(body["identity"] === undefined ? {} : { identity: body["identity"] }),
            properties: {
              loginServer: options.loginServer ?? `${name.toLowerCase()}.azurecr.io`,
              creationDate: (existing?.properties["creationDate"] as string | undefined) ?? new Date(context.now()).toISOString(),
              provisioningState: "Succeeded",
              adminUserEnabled: properties["adminUserEnabled"] === true,
              publicNetworkAccess: "Enabled",
              anonymousPullEnabled: false,
              zoneRedundancy: "Disabled",
            },
          };
        },
        deleted: (resource) => passwords.delete(resource.id.toLowerCase()),
      },
      removeChildren,
    ),
    {
      method: "POST",
      template: "/subscriptions/{subscriptionId}/providers/Microsoft.ContainerRegistry/checkNameAvailability",
      operation: "Registries_CheckNameAvailability",
      authorize: (p) => ({ action: `${TYPE}/checkNameAvailability/read`, scope: `/subscriptions/${p["subscriptionId"]}` }),
      handle: ({ body }) => {
        const name = String((body as { name?: unknown } | undefined)?.name ?? "");
        if (!/^[a-zA-Z0-9]{5,50}$/.test(name)) return { status: 200, body: { nameAvailable: false, reason: "Invalid", message: "The specified resource name must be 5-50 alphanumeric characters." } };
        if (byName(name) !== undefined) return { status: 200, body: { nameAvailable: false, reason: "AlreadyExists", message: `The registry ${name} is already in use.` } };
        return { status: 200, body: { nameAvailable: true } };
      },
    },
    {
      method: "POST",
      template: `${RG}/providers/${TYPE}/{registryName}/listCredentials`,
      operation: "Registries_ListCredentials",
      authorize: (p) => ({ action: `${TYPE}/listCredentials/action`, scope: registryScope(p) }),
      handle: ({ params }) => {
        const found = registry(params);
        if (found.properties["adminUserEnabled"] !== true) {
          throw new ArmError(400, "UnauthorizedForCredentialOperations", `Cannot perform credential operations for ${found.id} as admin user is disabled. Kindly enable admin user as per docs: https://docs.microsoft.com/en-us/azure/container-registry/container-registry-authentication#admin-account`);
        }
        const key = found.id.toLowerCase();
        if (!passwords.has(key)) passwords.set(key, [randomBytes(24).toString("base64url"), randomBytes(24).toString("base64url")]);
        const [first, second] = passwords.get(key)!;
        return { status: 200, body: { username: found.name, passwords: [{ name: "password", value: first }, { name: "password2", value: second }] } };
      },
    },
  ];
}
