import { defineErrorClassifier, kindOf, NETWORK_RULE, type ClassifyContext, type ErrorFacts, type ErrorTable } from "@ferry/provider-kit";

/**
 * The one table of Azure failures, for the provider (the pool's service principal, in the server) and
 * the provisioner and registry login (the user's own identity, on their machine).
 */
export interface AzureErrorContext extends ClassifyContext {
  /** The operation, e.g. `ContainerGroups.CreateOrUpdate`: the provider's messages start with it. */
  operation?: string;
  location?: string;
  resourceGroup?: string;
  /** The work pool, for fixes such as `ferry work-pool provision-infra POOL`. */
  pool?: string;
  /** Whose identity made the call: the pool's credentials (default) or the user's own (provisioning, a registry login). */
  identity?: "pool" | "user";
  /** With the user's identity: what the call was for, so the message names it. */
  action?: string;
}

/** The fields of a RestError (ARM's `{error: {code, message}}` read by the SDK), an AuthenticationError of @azure/identity, or a Node network error. */
interface AzureErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  statusCode?: unknown;
  errorResponse?: { error?: unknown; errorDescription?: unknown };
  response?: { headers?: { get?(name: string): string | undefined } };
  cause?: { code?: unknown };
}

export function azureErrorFacts(error: unknown): ErrorFacts {
  const e = (typeof error === "object" && error !== null ? error : { message: String(error) }) as AzureErrorShape;
  const str = (v: unknown) => (typeof v === "string" && v !== "Error" && v !== "TypeError" && v !== "RestError" ? v : "");
  // ARM's error code (`InaccessibleImage`) is the RestError's `code`; identity's errors are named, with the OAuth error inside.
  const name = str(e.code) || str(e.errorResponse?.error) || str(e.name);
  const code = str(e.cause?.code) || str(e.name);
  const raw = typeof e.message === "string" ? e.message.trim() : "";
  const message = (str(e.errorResponse?.errorDescription) ? String(e.errorResponse?.errorDescription).split("\n")[0]!.trim() : raw) || name || "unknown error";
  const status = typeof e.statusCode === "number" ? e.statusCode : undefined;
  const requestId = headerOf(error, "x-ms-request-id") ?? headerOf(error, "x-ms-correlation-request-id");
  return { name, code, status, message, ...(requestId ? { requestId } : {}) };
}

function headerOf(error: unknown, header: string): string | undefined {
  const get = (error as AzureErrorShape | null)?.response?.headers?.get;
  if (typeof get !== "function") return undefined;
  const value = get.call((error as AzureErrorShape).response!.headers, header);
  return typeof value === "string" && value ? value : undefined;
}

/**
 * How long Azure asked to wait before the next call (a 429's or 503's `Retry-After`, seconds or an HTTP
 * date), read from the error or its causes; undefined when it said nothing.
 */
export function retryAfterMs(error: unknown, now: () => number = Date.now): number | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const value = headerOf(e, "retry-after-ms") ?? headerOf(e, "x-ms-retry-after-ms");
    if (value && /^\d+$/.test(value)) return Number(value);
    const after = headerOf(e, "retry-after");
    if (!after) continue;
    if (/^\d+(\.\d+)?$/.test(after)) return Math.round(Number(after) * 1000);
    const at = Date.parse(after);
    if (!Number.isNaN(at)) return Math.max(0, at - now());
  }
  return undefined;
}

const where = (c: AzureErrorContext) => (c.location ? ` in ${c.location}` : "");
const user = (c: AzureErrorContext) => c.identity === "user";
const what = (c: AzureErrorContext) => c.action ?? c.operation ?? "the call";
const provision = (c: AzureErrorContext) => `run 'ferry work-pool provision-infra ${c.pool ?? "POOL"}'`;

export const AZURE_ERRORS: ErrorTable<AzureErrorContext> = {
  cloud: "Azure",
  detailsKey: "azure_error",
  facts: azureErrorFacts,
  special: [
    {
      names: ["InaccessibleImage", "RegistryErrorResponse", "InvalidImageName", "ImageNotFound"],
      kind: "refused",
      message: (f) => `the image could not be pulled: ${f.message} (check the image name and tag, and image_registry's identity or login)`,
    },
    {
      names: ["InvalidSubnet", "SubnetNotFound", "InvalidSubnetId", "SubnetMissingRequiredDelegation", "SubnetDelegationsCannotChangeWhenSubnetUsedByResource", "InvalidContainerGroupNetworkProfile"],
      kind: "refused",
      message: (f) => `Azure refused the group's subnet: ${f.message} (set subnet_ids to a subnet delegated to Microsoft.ContainerInstance/containerGroups, or clear it)`,
    },
    {
      names: ["SkuNotAvailable", "ServiceUnavailable", "ContainerGroupTransitioning", "RegionCapacityExceeded"],
      kind: "quota",
      retryable: true,
      message: (f, c) => `ACI has no capacity for the group${where(c)} right now (${f.message}); Ferry retries, or set another location or lower cpu/memory`,
    },
    {
      names: ["MissingSubscriptionRegistration"],
      kind: "refused",
      message: (f) => `${f.message}: register the resource provider once (Azure portal: Subscription → Resource providers → Register, or ${"`"}Register-AzResourceProvider${"`"})`,
    },
    {
      names: ["ResourceGroupNotFound"],
      kind: "not_found",
      message: (f, c) => (user(c) ? f.message : `the resource group${c.resourceGroup ? ` '${c.resourceGroup}'` : ""} does not exist (${f.message}): set resource_group_name or ${provision(c)}`),
    },
  ],
  throttled: { names: ["TooManyRequests", "SubscriptionRequestsThrottled", "TenantRequestsThrottled", "RequestThrottled"], statuses: [429], pattern: /throttl|too many requests/i },
  unauthenticated: {
    names: [
      "AuthenticationError",
      "CredentialUnavailableError",
      "AuthenticationRequiredError",
      "InvalidAuthenticationToken",
      "InvalidAuthenticationTokenTenant",
      "ExpiredAuthenticationToken",
      "AuthenticationFailed",
      "invalid_client",
      "unauthorized_client",
      "InvalidAuthenticationTokenAudience",
    ],
    statuses: [401],
  },
  denied: { names: ["AuthorizationFailed", "LinkedAuthorizationFailed", "Authorization_RequestDenied", "Forbidden"], statuses: [403] },
  notFound: { names: ["ResourceNotFound", "NotFound", "ContainerGroupNotFound", "SubscriptionNotFound", "Request_ResourceNotFound", "ParentResourceNotFound"], statuses: [404] },
  quota: { names: ["ContainerGroupQuotaReached", "QuotaExceeded", "StandardCoresQuotaExceeded", "OperationNotAllowed"], pattern: /quota/i },
  network: NETWORK_RULE,
  server: { names: ["InternalServerError", "InternalError", "GatewayTimeout", "BadGateway"], statuses: [500, 502, 503, 504] },
  messages: {
    throttled: (f, c) => (user(c) ? `Azure throttled ${what(c)}; wait a moment and run again (Azure said: ${f.message})` : `Azure is throttling requests${where(c)} (${f.message}); Ferry retries after the time Azure asks`),
    unauthenticated: (f, c) =>
      user(c)
        ? `Azure did not accept your identity (${f.name || "no credentials"}): sign in (Azure CLI 'az login', Azure PowerShell, or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET) (Azure said: ${f.message})`
        : `Microsoft Entra ID did not accept the pool's service principal (${f.message}); check tenant_id, client_id and client_secret of the pool's azure credentials, or make a new secret with ${provision(c)}`,
    denied: (f, c) =>
      user(c)
        ? `your Azure identity may not do ${what(c)}; provision as an Owner (or User Access Administrator and Contributor) of the subscription, allowed to register applications (Azure said: ${f.message})`
        : `the pool's service principal may not do this (${f.message}); give it the Contributor role on the resource group${c.resourceGroup ? ` '${c.resourceGroup}'` : ""}, or ${provision(c)}`,
    not_found: (f, c) => (user(c) ? `${what(c)}: ${f.message}` : `${f.message}${where(c)}: check resource_group_name, subscription_id, identities and subnet_ids, or ${provision(c)}`),
    quota: (f, c) => `${user(c) ? `an Azure limit stops ${what(c)}` : `an Azure limit was reached${where(c)}`} (${f.message}); request more quota in the Azure portal (Quotas) or free some container groups`,
    network: (f, c) => `could not reach Azure${user(c) ? ` for ${what(c)}` : ""}: ${f.message}`,
    server: (f, c) => `Azure had an internal error${where(c)}${user(c) ? ` in ${what(c)}` : ""}: ${f.message}`,
    refused: (f, c) => (user(c) ? `Azure refused ${what(c)}: ${f.name ? `${f.name}: ` : ""}${f.message}` : `Azure refused the request${where(c)}: ${f.name ? `${f.name}: ` : ""}${f.message}`),
    unknown: (f, c) => (user(c) ? `${what(c)} failed: ${f.message}` : f.message),
  },
};

/**
 * Turns whatever an Azure call threw into a FerryError with a stable code, whether retrying helps, the
 * original error as `cause`, and a message that says what to do. Nothing else inspects an SDK error.
 */
export const classifyAzureError = defineErrorClassifier(AZURE_ERRORS);

/** Whether Azure said the thing asked about does not exist. */
export function isAzureNotFound(error: unknown): boolean {
  const kind = kindOf(AZURE_ERRORS, azureErrorFacts(error));
  return kind === "not_found";
}
