import { Agent, request } from "node:https";
import { ContainerInstanceManagementClient } from "@azure/arm-containerinstance";
import { ResourceManagementClient } from "@azure/arm-resources";
import { agentPolicy, type PipelinePolicy } from "@azure/core-rest-pipeline";
import { ClientSecretCredential } from "@azure/identity";
import type { AzureLocal, ContainerExit, ContainerHandle, ContainerLaunch, ContainerRuntime, OutputLine } from "@ferry/azure-local";

/** Trust of the server's CA, the way Ferry's clients get it: an agent in a pipeline policy. */
export function trustPolicies(local: AzureLocal): { policy: PipelinePolicy; position: "perCall" }[] {
  return [{ policy: agentPolicy(new Agent({ ca: local.caPem, keepAlive: true })), position: "perCall" }];
}

export function credentialFor(local: AzureLocal, clientId = local.ownerCredential.clientId, clientSecret = local.ownerCredential.clientSecret): ClientSecretCredential {
  return new ClientSecretCredential(local.tenantId, clientId, clientSecret, {
    authorityHost: local.url,
    disableInstanceDiscovery: true,
    additionalPolicies: trustPolicies(local),
    retryOptions: { maxRetries: 0 },
  });
}

export const ARM_SCOPE = "https://management.azure.com/.default";

/** The official ARM clients pointed at the server: `endpoint`, `credentialScopes`, and the CA's agent. */
/** What the clients sign in with: a credential, or anything with `getToken`. */
export type TokenCredential = ConstructorParameters<typeof ContainerInstanceManagementClient>[0];

export function armClients(local: AzureLocal, credential: TokenCredential = credentialFor(local)): { aci: ContainerInstanceManagementClient; resources: ResourceManagementClient } {
  const options = { endpoint: local.url, credentialScopes: [ARM_SCOPE], additionalPolicies: trustPolicies(local), retryOptions: { maxRetries: 0 } };
  return {
    aci: new ContainerInstanceManagementClient(credential, local.subscriptionId, options),
    resources: new ResourceManagementClient(credential, local.subscriptionId, options),
  };
}

/** Fast polling of long-running operations (the SDK's default waits 2 s between polls). */
export const POLL = { updateIntervalInMs: 20 };

/** The rejection of a promise, for assertions on the SDK's RestError. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { statusCode?: number; code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { statusCode?: number; code?: string };
  }
  throw new Error("expected the call to fail");
}

interface FakeContainer {
  launch: ContainerLaunch;
  lines: OutputLine[];
  exit: (value: ContainerExit) => void;
  exited: Promise<ContainerExit>;
  stopped: boolean;
  removed: boolean;
}

/** A hand-written container runtime: images on the "host" are a set; a test prints lines and ends containers. */
export class FakeRuntime implements ContainerRuntime {
  readonly images = new Set<string>(["ferry-engine:test"]);
  readonly containers: FakeContainer[] = [];
  /** How long a stop takes (a container slow to die). */
  stopDelayMs = 0;

  async hasImage(image: string): Promise<boolean> {
    return this.images.has(image);
  }

  async start(launch: ContainerLaunch): Promise<ContainerHandle> {
    let exit!: (value: ContainerExit) => void;
    const exited = new Promise<ContainerExit>((resolve) => (exit = resolve));
    const container: FakeContainer = { launch, lines: [], exit, exited, stopped: false, removed: false };
    this.containers.push(container);
    return {
      id: `fake-${this.containers.length}`,
      follow: async (onLine) => {
        await exited;
        for (const line of container.lines) onLine(line);
      },
      wait: () => exited,
      stop: async () => {
        await new Promise((resolve) => setTimeout(resolve, this.stopDelayMs));
        container.stopped = true;
        exit({ exitCode: 143, oomKilled: false });
      },
      remove: async () => void (container.removed = true),
    };
  }

  async find(): Promise<ContainerHandle | null> {
    return null;
  }

  async removeAll(): Promise<void> {
    for (const c of this.containers) c.removed = true;
  }

  /** Ends the container of the n-th start (0-based), after printing `lines`. */
  finish(index: number, exitCode: number, lines: string[] = []): void {
    const container = this.containers[index]!;
    for (const message of lines) container.lines.push({ stream: "stdout", timestamp: Date.now(), message });
    container.exit({ exitCode, oomKilled: false });
  }
}

export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface GraphAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** Microsoft Graph as plain REST through @azure/core-rest-pipeline with the credential's token (how Ferry calls it). */
export async function graphClient(local: AzureLocal, credential: TokenCredential = credentialFor(local)) {
  const pipeline = await import("@azure/core-rest-pipeline");
  const p = pipeline.createPipelineFromOptions({ retryOptions: { maxRetries: 0 } });
  p.addPolicy(agentPolicy(new Agent({ ca: local.caPem })));
  p.addPolicy(pipeline.bearerTokenAuthenticationPolicy({ credential, scopes: "https://graph.microsoft.com/.default" }));
  const client = pipeline.createDefaultHttpClient();
  const send = async <T = Record<string, unknown>>(method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<GraphAnswer<T>> => {
    const request = pipeline.createPipelineRequest({
      url: `${local.url}${path}`,
      method,
      headers: pipeline.createHttpHeaders({ accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const response = await p.sendRequest(client, request);
    return { status: response.status, body: (response.bodyAsText ? JSON.parse(response.bodyAsText) : undefined) as T };
  };
  return {
    get: <T = Record<string, unknown>>(path: string) => send<T>("GET", path),
    post: <T = Record<string, unknown>>(path: string, body: unknown) => send<T>("POST", path, body),
    patch: (path: string, body: unknown) => send("PATCH", path, body),
    delete: (path: string) => send("DELETE", path),
  };
}

export async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A plain request to the server over its TLS (for endpoints no SDK client calls): a form POST by default. */
export function fetchWithCa(local: AzureLocal, path: string, body?: string, method = "POST", type = "application/x-www-form-urlencoded"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${local.url}${path}`, { method, ca: local.caPem, headers: body === undefined ? {} : { "content-type": type } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}
