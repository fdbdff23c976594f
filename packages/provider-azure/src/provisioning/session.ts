import type { AuthorizationManagementClient } from "@azure/arm-authorization";
import type { ContainerRegistryManagementClient } from "@azure/arm-containerregistry";
import type { ManagedServiceIdentityClient } from "@azure/arm-msi";
import type { ResourceManagementClient } from "@azure/arm-resources";
import type { TokenCredential } from "@azure/core-auth";
import { FerryError, isFerryError } from "@ferry/core";
import { withRetries } from "@ferry/provider-kit";
import { pipelineOptions, type AzureEndpoints } from "../azure-clients.js";
import { classifyAzureError, retryAfterMs } from "../errors.js";
import { createGraphClient, createRestClient, type GraphClient } from "./graph.js";

const DEFAULT_ARM = "https://management.azure.com";

/** How the provisioner reaches Azure: the endpoints (a local stand-in in tests) and whose identity it uses. */
export interface AciProvisionerOptions extends AzureEndpoints {
  /** The user's identity; unset: DefaultAzureCredential (environment, workload identity, Azure CLI, Azure PowerShell…). Tests pass a ClientSecretCredential. */
  credential?: TokenCredential;
  /** The subscription when the options name none (the client plugin reads AZURE_SUBSCRIPTION_ID). */
  subscriptionId?: string;
  /** The tenant when the options name none (the client plugin reads AZURE_TENANT_ID). */
  tenantId?: string;
  /** Attempts per call (throttling, 5xx); default 3. */
  attempts?: number;
  /** How often a long-running operation is polled; default the SDK's. */
  pollIntervalMs?: number;
}

/** The clients every step talks through, with the user's identity. */
export interface Session {
  subscriptionId: string;
  /** Options and constructor given; else read from the subscription when a secret is made. */
  tenantId: () => Promise<string>;
  resources: ResourceManagementClient;
  msi: ManagedServiceIdentityClient;
  authorization: AuthorizationManagementClient;
  registries: ContainerRegistryManagementClient;
  graph: GraphClient;
  poll: { updateIntervalInMs?: number };
  attempts: number;
  signal: AbortSignal | undefined;
}

export async function openSession(options: AciProvisionerOptions, checked: Record<string, string>, signal: AbortSignal | undefined): Promise<Session> {
  const subscriptionId = checked.subscription_id || options.subscriptionId;
  if (!subscriptionId) {
    throw new FerryError("validation_failed", "no Azure subscription: pass --subscription-id or set AZURE_SUBSCRIPTION_ID (your subscriptions: Azure portal → Subscriptions)");
  }
  const [{ ResourceManagementClient }, { ManagedServiceIdentityClient }, { AuthorizationManagementClient }, { ContainerRegistryManagementClient }] = await Promise.all([
    import("@azure/arm-resources"),
    import("@azure/arm-msi"),
    import("@azure/arm-authorization"),
    import("@azure/arm-containerregistry"),
  ]);
  const tenant = checked.tenant_id || options.tenantId;
  const credential =
    options.credential ??
    new (await import("@azure/identity")).DefaultAzureCredential({
      ...pipelineOptions(options),
      ...(tenant ? { tenantId: tenant } : {}),
      // A sovereign or stand-in authority is not in Microsoft's instance discovery: skip it there.
      ...(options.authorityHost ? { authorityHost: options.authorityHost, disableInstanceDiscovery: true } : {}),
    });
  const armOptions = { ...pipelineOptions(options), ...(options.endpoint ? { endpoint: options.endpoint } : {}) };
  const attempts = options.attempts ?? 3;
  const arm = await createRestClient(credential, options, options.endpoint ?? DEFAULT_ARM);
  let tenantOfSubscription: Promise<string> | undefined;
  return {
    subscriptionId,
    tenantId: () => {
      if (tenant) return Promise.resolve(tenant);
      tenantOfSubscription ??= call({ attempts, signal }, "reading the subscription's tenant", async () => {
        const sub = await arm.get<{ tenantId?: string }>(`/subscriptions/${subscriptionId}?api-version=2022-12-01`);
        if (!sub?.tenantId) throw new FerryError("validation_failed", "Azure did not say the subscription's tenant: pass --tenant-id or set AZURE_TENANT_ID");
        return sub.tenantId;
      });
      return tenantOfSubscription;
    },
    resources: new ResourceManagementClient(credential, subscriptionId, armOptions),
    msi: new ManagedServiceIdentityClient(credential, subscriptionId, armOptions),
    authorization: new AuthorizationManagementClient(credential, subscriptionId, armOptions),
    registries: new ContainerRegistryManagementClient(credential, subscriptionId, armOptions),
    graph: await createGraphClient(credential, options),
    poll: options.pollIntervalMs === undefined ? {} : { updateIntervalInMs: options.pollIntervalMs },
    attempts,
    signal,
  };
}

/** One call with the user's identity: retried on throttling (after Azure's Retry-After) and 5xx, classified naming what it was for. */
export function call<T>(session: Pick<Session, "attempts" | "signal">, action: string, fn: () => Promise<T>): Promise<T> {
  let asked: number | undefined;
  return withRetries(fn, {
    attempts: session.attempts,
    signal: session.signal,
    classify: (e) => classifyAzureError(e, { identity: "user", action }),
    onRetry: (error) => {
      asked = retryAfterMs(error);
    },
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, Math.min(Math.max(ms, asked ?? 0), 60_000));
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(signal.reason);
        }, { once: true });
      }),
  });
}

/** A read whose "not found" is an answer: null. */
export async function callOrNull<T>(session: Pick<Session, "attempts" | "signal">, action: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await call(session, action, fn);
  } catch (error) {
    if (isFerryError(error, "provider_not_found")) return null;
    throw error;
  }
}

/** Every item of an SDK's paged list. */
export async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
