import type { ContainerGroup } from "@azure/arm-containerinstance";
import type { TokenCredential } from "@azure/core-auth";
import { rootCertificates } from "node:tls";
import { FerryError } from "@ferry/core";
import type { AzurePluginOptions } from "./options.js";

/** Where Azure is and which CA to trust: the plugin's options, shared by every client. */
export type AzureEndpoints = Pick<AzurePluginOptions, "endpoint" | "authorityHost" | "graphEndpoint" | "caPem">;

/** A service principal in the SDK's terms. */
export interface ServicePrincipalSecret {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/** The pool's credentials (the `azure` credentials type) as a service principal; null: the server's own identity. */
export function servicePrincipalFrom(credentials: Record<string, string> | null): ServicePrincipalSecret | null {
  if (!credentials) return null;
  const { tenant_id: tenantId, client_id: clientId, client_secret: clientSecret } = credentials;
  if (!tenantId || !clientId || !clientSecret) {
    throw new FerryError("provider_auth", "the pool's azure credentials lack tenant_id, client_id or client_secret: update them with 'ferry credentials create --type azure'");
  }
  return { tenantId, clientId, clientSecret };
}

/**
 * Options every SDK client and credential gets: the endpoint (a local stand-in in tests), the CA to
 * trust, and no retries of the SDK's own: the provider retries each call itself (withRetries, honouring
 * Retry-After), the same way for every cloud.
 */
export function pipelineOptions(endpoints: AzureEndpoints): { tlsOptions?: { ca: string[] }; retryOptions: { maxRetries: number } } {
  return {
    retryOptions: { maxRetries: 0 },
    ...(endpoints.caPem ? { tlsOptions: { ca: [...systemCas(), endpoints.caPem] } } : {}),
  };
}

/** Node's own trusted CAs: `ca` replaces them, and a stand-in's CA should add to them, not shut Azure out. */
function systemCas(): readonly string[] {
  return rootCertificates;
}

/** ClientSecretCredential for the service principal, sent to the endpoints' authority host. */
export async function servicePrincipalCredential(principal: ServicePrincipalSecret, endpoints: AzureEndpoints): Promise<TokenCredential> {
  const { ClientSecretCredential } = await import("@azure/identity");
  return new ClientSecretCredential(principal.tenantId, principal.clientId, principal.clientSecret, {
    ...pipelineOptions(endpoints),
    ...(endpoints.authorityHost ? { authorityHost: endpoints.authorityHost, disableInstanceDiscovery: true } : {}),
  });
}

/** The ACI calls the provider makes; tests give a hand-written fake. */
export interface ContainerGroupsApi {
  /** The group with its instance view; null when ARM has none of that name. */
  get(resourceGroup: string, name: string, signal?: AbortSignal): Promise<ContainerGroup | null>;
  /**
   * Sends the long-running PUT and returns once ARM accepted it (the poller is not followed: status
   * does). Aborting `signal` (the server shutting down) abandons the request: a PUT that took effect
   * anyway is found by the next submission's GET.
   */
  create(resourceGroup: string, name: string, group: ContainerGroup, signal?: AbortSignal): Promise<void>;
  stop(resourceGroup: string, name: string): Promise<void>;
  /** Deletes the group; `wait` follows the long-running DELETE to its end. */
  delete(resourceGroup: string, name: string, options: { wait: boolean }): Promise<void>;
  /** The container's last `tail` lines of output. */
  logs(resourceGroup: string, name: string, container: string, tail: number): Promise<string>;
}

export interface AciClientSettings {
  subscriptionId: string;
  /** The pool's service principal; null: the server's own identity (DefaultAzureCredential). */
  principal: ServicePrincipalSecret | null;
  endpoints: AzureEndpoints;
  /** How often a followed long-running operation is polled; default the SDK's (or Azure's Retry-After). */
  pollIntervalMs?: number;
}

export type AciClientFactory = (settings: AciClientSettings) => Promise<ContainerGroupsApi>;

/** The official `@azure/arm-containerinstance` client behind ContainerGroupsApi; imported on first use. */
export const sdkAciClients: AciClientFactory = async (settings) => {
  const { ContainerInstanceManagementClient } = await import("@azure/arm-containerinstance");
  const credential = settings.principal
    ? await servicePrincipalCredential(settings.principal, settings.endpoints)
    : new (await import("@azure/identity")).DefaultAzureCredential({
        ...pipelineOptions(settings.endpoints),
        ...(settings.endpoints.authorityHost ? { authorityHost: settings.endpoints.authorityHost, disableInstanceDiscovery: true } : {}),
      });
  const client = new ContainerInstanceManagementClient(credential, settings.subscriptionId, {
    ...pipelineOptions(settings.endpoints),
    ...(settings.endpoints.endpoint ? { endpoint: settings.endpoints.endpoint } : {}),
  });
  const poll = settings.pollIntervalMs === undefined ? {} : { updateIntervalInMs: settings.pollIntervalMs };
  return {
    async get(resourceGroup, name, signal) {
      try {
        return await client.containerGroups.get(resourceGroup, name, signal ? { abortSignal: signal } : {});
      } catch (error) {
        // A missing resource group is not a missing group: it names a job variable to fix.
        const { statusCode, code } = error as { statusCode?: number; code?: string };
        if (statusCode === 404 && code !== "ResourceGroupNotFound" && code !== "SubscriptionNotFound") return null;
        throw error;
      }
    },
    async create(resourceGroup, name, group, signal) {
      try {
        await client.containerGroups.beginCreateOrUpdate(resourceGroup, name, group, { ...poll, ...(signal ? { abortSignal: signal } : {}) });
      } catch (error) {
        // The SDK polls the operation once right after the PUT: a group whose provisioning already failed
        // (an image that cannot be pulled) rejects here, though ARM made it. It is submitted all the same:
        // its status says why it cannot run, and the run is CRASHED with Azure's words.
        if (isFailedOperation(error)) return;
        throw error;
      }
    },
    async stop(resourceGroup, name) {
      await client.containerGroups.stop(resourceGroup, name);
    },
    async delete(resourceGroup, name, options) {
      const poller = await client.containerGroups.beginDelete(resourceGroup, name, poll);
      if (options.wait) await poller.pollUntilDone();
    },
    async logs(resourceGroup, name, container, tail) {
      const out = await client.containers.listLogs(resourceGroup, name, container, { tail });
      return out.content ?? "";
    },
  };
};

/** core-lro's plain Error for a long-running operation that ended Failed (ARM's code is only in its message). */
export function isFailedOperation(error: unknown): boolean {
  const e = error as { message?: unknown; statusCode?: unknown } | null;
  return typeof e?.message === "string" && e.statusCode === undefined && /^The long-running operation has failed/.test(e.message);
}
