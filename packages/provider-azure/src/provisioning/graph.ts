import type { TokenCredential } from "@azure/core-auth";
import { pipelineOptions, type AzureEndpoints } from "../azure-clients.js";

export const DEFAULT_GRAPH_ENDPOINT = "https://graph.microsoft.com";

/** The Microsoft Graph calls provisioning makes, as plain REST through @azure/core-rest-pipeline with the user's token. */
export interface GraphClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  delete(path: string): Promise<void>;
  /** A form post (OAuth endpoints such as a registry's token exchange). */
  postForm<T>(path: string, form: string): Promise<T>;
}

/** A Graph error in the shape the Azure error table reads (`code`, `statusCode`, `message`, the response's headers). */
export class GraphError extends Error {
  override readonly name = "GraphError";
  constructor(
    message: string,
    readonly code: string,
    readonly statusCode: number,
    readonly response: { headers: { get(name: string): string | undefined } },
  ) {
    super(message);
  }
}

export function createGraphClient(credential: TokenCredential, endpoints: AzureEndpoints): Promise<GraphClient> {
  return createRestClient(credential, endpoints, endpoints.graphEndpoint ?? DEFAULT_GRAPH_ENDPOINT);
}

/** JSON over HTTPS, with the credential's token for `base` when one is given: Microsoft Graph, and ARM calls no management package makes. */
export async function createRestClient(credential: TokenCredential | null, endpoints: AzureEndpoints, baseUrl: string): Promise<GraphClient> {
  const pipeline = await import("@azure/core-rest-pipeline");
  const base = baseUrl.replace(/\/+$/, "");
  const p = pipeline.createPipelineFromOptions(pipelineOptions(endpoints));
  if (credential) p.addPolicy(pipeline.bearerTokenAuthenticationPolicy({ credential, scopes: `${base}/.default` }));
  const client = pipeline.createDefaultHttpClient();
  const send = async <T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown, form?: string): Promise<T> => {
    const type = form !== undefined ? "application/x-www-form-urlencoded" : body !== undefined ? "application/json" : undefined;
    const request = pipeline.createPipelineRequest({
      url: `${base}${path}`,
      method,
      headers: pipeline.createHttpHeaders({ accept: "application/json", ...(type ? { "content-type": type } : {}) }),
      ...(form !== undefined ? { body: form } : body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const response = await p.sendRequest(client, request);
    const text = response.bodyAsText ?? "";
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (response.status >= 400) {
      const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      // Only the answer's headers are kept: the response's request holds the bearer token.
      const headers = { get: (name: string) => response.headers.get(name) };
      throw new GraphError(error?.message ?? `Azure answered HTTP ${response.status}`, error?.code ?? `HTTP${response.status}`, response.status, { headers });
    }
    return json as T;
  };
  return {
    get: (path) => send("GET", path),
    post: (path, body) => send("POST", path, body),
    delete: async (path) => {
      await send("DELETE", path);
    },
    postForm: (path, form) => send("POST", path, undefined, form),
  };
}
