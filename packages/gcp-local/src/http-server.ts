import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { status as Status } from "@grpc/grpc-js";
import { AuthRefusal, type KeyRing } from "./keys.js";
import { GrpcError, codeName, httpStatusOf, isGrpcError } from "./grpc-error.js";
import type { CallLog, FaultInjector } from "./test-hooks.js";

/** A REST method: answers a JSON body, or throws a GrpcError (answered in Google's JSON error form). */
export interface RestRoute {
  method: "GET" | "POST" | "DELETE" | "PATCH" | "PUT";
  /** Matched against the path (without the query); named groups become `params`. */
  path: RegExp;
  /** The service and method names calls() and faults use, e.g. `iam` / `CreateServiceAccountKey`. */
  service: string;
  name: string;
  handle: (input: { params: Record<string, string>; body: Record<string, unknown>; query: URLSearchParams; principal: string }) => Promise<unknown>;
}

export interface HttpServerOptions {
  keys: KeyRing;
  calls: CallLog;
  faults: FaultInjector;
  routes: RestRoute[];
  /** Test hooks under HOOKS_PREFIX (unauthenticated: for a test driving the CLI's server from outside). */
  hooks: (method: string, path: string, body: unknown) => unknown;
}

export const HOOKS_PREFIX = "/__gcp-local/";

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

function googleError(error: GrpcError): { error: { code: number; message: string; status: string } } {
  return { error: { code: httpStatusOf(error.code), message: error.message, status: codeName(error.code) } };
}

/**
 * The HTTP face: Google's OAuth 2.0 token endpoint (`POST /token`, the JWT-bearer grant) and the REST
 * APIs that have no gRPC client (IAM service accounts and keys), each call authenticated and recorded.
 */
export function createHttpServer(options: HttpServerOptions): Server {
  return createServer((request, response) => {
    void handle(request, response, options).catch((error: unknown) => send(response, 500, { error: { code: 500, message: `gcp-local failed: ${(error as Error).message}`, status: "INTERNAL" } }));
  });
}

async function handle(request: IncomingMessage, response: ServerResponse, options: HttpServerOptions): Promise<void> {
  const url = new URL(request.url ?? "/", "http://gcp-local");
  const text = await readBody(request);
  if (url.pathname.startsWith(HOOKS_PREFIX)) {
    try {
      const answer = options.hooks(request.method ?? "GET", url.pathname.slice(HOOKS_PREFIX.length), text === "" ? undefined : JSON.parse(text));
      return answer === undefined ? send(response, 404, { error: `no hook ${request.method ?? ""} ${url.pathname}` }) : send(response, 200, answer);
    } catch (error) {
      return send(response, 400, { error: (error as Error).message });
    }
  }
  if (request.method === "POST" && url.pathname === "/token") {
    const form = new URLSearchParams(text);
    try {
      if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
        options.calls.record({ service: "oauth2", method: "token", principal: null, status: "INVALID_ARGUMENT" });
        return send(response, 400, { error: "unsupported_grant_type", error_description: "Only the JWT-bearer grant (urn:ietf:params:oauth:grant-type:jwt-bearer) is served by gcp-local." });
      }
      const granted = options.keys.grant(form.get("assertion") ?? "");
      options.calls.record({ service: "oauth2", method: "token", principal: options.keys.verifyJwt(form.get("assertion") ?? "").email, status: "OK" });
      return send(response, 200, granted);
    } catch (error) {
      if (!(error instanceof AuthRefusal)) throw error;
      options.calls.record({ service: "oauth2", method: "token", principal: null, status: "UNAUTHENTICATED" });
      return send(response, 400, { error: "invalid_grant", error_description: error.message });
    }
  }
  for (const route of options.routes) {
    const match = route.path.exec(url.pathname);
    if (match === null || request.method !== route.method) continue;
    let principal: string | null = null;
    const resource = decodeURIComponent(url.pathname.replace(/^\/v\d+\//, ""));
    try {
      principal = options.keys.principalOf(request.headers.authorization);
      const before = options.faults.take(route.service, route.name, false);
      if (before !== null) throw before;
      let body: Record<string, unknown> = {};
      if (text !== "") {
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          throw new GrpcError(Status.INVALID_ARGUMENT, "Invalid JSON payload received.");
        }
      }
      const result = await route.handle({ params: Object.fromEntries(Object.entries(match.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)])), body, query: url.searchParams, principal });
      const after = options.faults.take(route.service, route.name, true);
      if (after !== null) throw after;
      options.calls.record({ service: route.service, method: route.name, principal, status: "OK", resource });
      return send(response, 200, result ?? {});
    } catch (error) {
      const answered = error instanceof AuthRefusal ? new GrpcError(Status.UNAUTHENTICATED, error.message) : isGrpcError(error) ? error : new GrpcError(Status.INTERNAL, `gcp-local failed: ${(error as Error).message}`);
      options.calls.record({ service: route.service, method: route.name, principal, status: codeName(answered.code), resource });
      return send(response, httpStatusOf(answered.code), googleError(answered));
    }
  }
  send(response, 404, { error: { code: 404, message: `gcp-local does not serve ${request.method ?? ""} ${url.pathname}.`, status: "NOT_FOUND" } });
}
