import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import Dockerode from "dockerode";
import { createLocalTls, DockerContainerRuntime, type ContainerNetwork, type ContainerRuntime } from "@ferry/local-containers";
import { ArmError, isArmError } from "./arm-error.js";
import { ArmState } from "./arm-state.js";
import { AsyncOperations } from "./async-operations.js";
import { audienceRefusal } from "./audience.js";
import { authorizationFailedMessage, isAllowed, scopeCovers } from "./authorization.js";
import { ContainerGroupLifecycle } from "./container-groups.js";
import { Directory } from "./directory.js";
import { FaultInjector, type CallRecord, type Fault } from "./faults.js";
import { Holds, type Hold, type HoldMatch } from "./holds.js";
import { HOOKS_PREFIX } from "./hooks-prefix.js";
import { createHooks } from "./hooks.js";
import { readBody, requestUrl, safeDecodeUri, send } from "./http.js";
import { bootstrapOwner } from "./owner.js";
import { pullRefusal } from "./registry-pull.js";
import { Router, type Principal, type RouteResponse } from "./router.js";
import { authorizationRoutes } from "./routes/authorization-routes.js";
import { containerGroupRoutes } from "./routes/container-group-routes.js";
import type { ServerContext } from "./routes/context.js";
import { genericResourceRoutes } from "./routes/generic-resource-routes.js";
import { graphRoutes } from "./routes/graph-routes.js";
import { identityRoutes } from "./routes/identity-routes.js";
import { registryRoutes } from "./routes/registry-routes.js";
import { resourceGroupRoutes } from "./routes/resource-group-routes.js";
import { handleEntra, handleRegistryExchange } from "./routes/token-routes.js";
import { takeSnapshot, type AzureLocalSnapshot } from "./snapshot.js";
import { TokenIssuer } from "./tokens.js";

export { HOOKS_PREFIX };

export interface AzureLocalOptions {
  subscriptionId?: string;
  tenantId?: string;
  /** The Docker engine that runs container groups; null: none (groups fail to provision, saying so). Default: the local engine. */
  docker?: Dockerode | null;
  /** A runtime to use instead of Docker (unit tests hand in a fake). */
  runtime?: ContainerRuntime;
  /** The containers' network: `host` (default) lets them reach servers on 127.0.0.1. */
  network?: ContainerNetwork;
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** Extra environment for every container. */
  containerEnvironment?: Record<string, string>;
  /** Holds each new container group in Creating this long (default 0). */
  provisioningDelayMs?: number;
  /** Seconds between SIGTERM and SIGKILL when a group is stopped or deleted (default 10). */
  stopGraceSeconds?: number;
  /** Every container registry's `loginServer` (e.g. a local registry's `127.0.0.1:5000`); default `<name>.azurecr.io`. */
  registryLoginServer?: string;
}

/** A running local Azure endpoint (ARM, Microsoft Graph and the Entra token endpoint on one HTTPS port). */
export interface AzureLocal {
  /** `https://127.0.0.1:<port>`: the clients' `endpoint`/`$host`, `authorityHost` and Graph base URL. */
  url: string;
  port: number;
  /** The CA that signed the server's certificate: trust it (an https.Agent's `ca`, `NODE_EXTRA_CA_CERTS`). */
  caPem: string;
  tenantId: string;
  subscriptionId: string;
  /** The user's own identity: Owner on the subscription, allowed to create app registrations. */
  ownerCredential: { clientId: string; clientSecret: string };
  /** Every call received so far, oldest first. */
  calls(): CallRecord[];
  clearCalls(): void;
  injectFault(fault: Fault): void;
  faults(): Fault[];
  clearFaults(): void;
  /**
   * Holds the next ARM or Graph request that matches, on arrival, before it takes effect: the caller
   * may go away meanwhile; `release()` lets it proceed and resolves with what was answered.
   */
  holdNext(match: HoldMatch): Hold;
  /** Every resource there is now (ARM, role assignments, Graph), for "back to empty" assertions. */
  snapshot(): AzureLocalSnapshot;
  /** Why container groups cannot run here, or null when a container runtime answers. */
  runtimeUnavailable: string | null;
  close(): Promise<void>;
}

async function pickRuntime(options: AzureLocalOptions, serverId: string): Promise<{ runtime: ContainerRuntime | null; unavailable: string | null }> {
  if (options.runtime !== undefined) return { runtime: options.runtime, unavailable: null };
  if (options.docker === null) return { runtime: null, unavailable: "Docker is disabled (docker: null)" };
  const docker = options.docker ?? new Dockerode();
  const answer = await Promise.race([
    docker.ping().then(() => null, (error: Error) => error.message),
    new Promise<string>((resolve) => setTimeout(() => resolve("no answer within 2 s"), 2_000).unref()),
  ]);
  if (answer !== null) return { runtime: null, unavailable: `Docker is not answering (${answer})` };
  return { runtime: new DockerContainerRuntime(docker, { network: options.network ?? "host", serverId, labelPrefix: "azure-local" }), unavailable: null };
}



/** Starts the server; it listens before this resolves. */
export async function startAzureLocal(options: AzureLocalOptions = {}): Promise<AzureLocal> {
  const subscriptionId = options.subscriptionId ?? "00000000-0000-4000-8000-000000000001";
  const tenantId = options.tenantId ?? "00000000-0000-4000-8000-0000000000aa";
  const host = options.host ?? "127.0.0.1";
  const now = Date.now;
  const serverId = randomUUID().slice(0, 8);
  const { runtime, unavailable } = await pickRuntime(options, serverId);
  const tls = await createLocalTls("azure-local", [host]);
  const operations = new AsyncOperations(now);
  const faults = new FaultInjector();
  const holds = new Holds();
  const context: ServerContext = {
    subscriptionId,
    tenantId,
    subscriptionName: "azure-local",
    arm: new ArmState(),
    directory: new Directory(now),
    operations,
    containerGroups: new ContainerGroupLifecycle({
      runtime,
      runtimeUnavailable: unavailable ?? "",
      operations,
      environment: options.containerEnvironment ?? {},
      provisioningDelayMs: options.provisioningDelayMs ?? 0,
      stopGraceSeconds: options.stopGraceSeconds ?? 10,
      now,
      pullRefusal: (group, container) => pullRefusal(context.arm, container.image, group.spec.imageRegistryCredentials, group.spec.userAssignedIdentities),
      identityIds: (identityId) => {
        const identity = context.arm.resources.get(identityId.toLowerCase());
        return identity === undefined ? undefined : { principalId: String(identity.properties["principalId"]), clientId: String(identity.properties["clientId"]) };
      },
    }),
    faults,
    now,
  };

  const owner = bootstrapOwner(context);

  /** What goes with a resource: the role assignments at or under its scope (extension resources). */
  const removeChildren = (resourceId: string): void => {
    for (const [key, assignment] of [...context.arm.roleAssignments]) if (scopeCovers(resourceId, assignment.scope)) context.arm.roleAssignments.delete(key);
  };
  const deleteResourceGroupContents = async (resourceGroupId: string): Promise<void> => {
    const prefix = `${resourceGroupId.toLowerCase()}/`;
    const groups = context.containerGroups.list(prefix).map((group) => context.containerGroups.delete(group, operations.start(subscriptionId, "Microsoft.ContainerInstance", group.spec.location)));
    for (const key of [...context.arm.resources.keys()]) if (key.startsWith(prefix)) context.arm.resources.delete(key);
    removeChildren(resourceGroupId);
    await Promise.all(groups);
  };
  const principalExists = (principalId: string): boolean =>
    context.directory.servicePrincipals.has(principalId) ||
    context.arm.list("/subscriptions/", "Microsoft.ManagedIdentity/userAssignedIdentities").some((identity) => identity.properties["principalId"] === principalId);
  const router = new Router().add(
    ...resourceGroupRoutes(context, deleteResourceGroupContents),
    ...containerGroupRoutes(context),
    ...identityRoutes(context, removeChildren),
    ...registryRoutes(context, options.registryLoginServer === undefined ? {} : { loginServer: options.registryLoginServer }, removeChildren),
    ...authorizationRoutes(context, principalExists),
    ...graphRoutes(context),
    ...genericResourceRoutes(context),
  );
  const tokens = new TokenIssuer(`https://${host}/${tenantId}/v2.0`);
  const calls: CallRecord[] = [];

  const principalOf = (authorization: string | undefined): Principal | null => {
    const token = /^Bearer (.+)$/i.exec(authorization ?? "")?.[1];
    const claims = token === undefined ? null : tokens.verify(token);
    const sp = claims === null ? undefined : context.directory.servicePrincipals.get(claims.oid);
    return sp === undefined || claims === null ? null : { objectId: sp.id, appId: sp.appId, displayName: sp.displayName, directoryWriter: sp.directoryWriter, audience: claims.aud };
  };

  let baseUrl = "";
  const serve = async (request: IncomingMessage, body: string): Promise<{ record: Omit<CallRecord, "status" | "time">; answer: RouteResponse; answered?: (answer: { status: number; body: unknown }) => void }> => {
    const method = request.method ?? "GET";
    const url = requestUrl(request);
    const path = safeDecodeUri(url.pathname);
    const entra = handleEntra(context, tokens, baseUrl, method, path, body) ?? handleRegistryExchange(context, tokens, method, path, body);
    if (entra !== null) {
      const record = { method, path, operation: entra.operation, principal: entra.principal?.appId ?? null, principalName: entra.principal?.name ?? null };
      const fault = faults.take("before", entra.operation, method, path);
      // Entra answers OAuth errors: {"error": "<code>", "error_description": "<message>"}.
      if (fault !== null) return { record, answer: { status: fault.status, body: { error: fault.code, error_description: fault.message }, headers: fault.headers } };
      return { record, answer: entra.answer };
    }
    const principal = principalOf(request.headers.authorization);
    let operation = "Unknown";
    let answered: ((answer: { status: number; body: unknown }) => void) | undefined;
    const record = (): Omit<CallRecord, "status" | "time"> => ({ method, path, operation, principal: principal?.appId ?? null, principalName: principal?.displayName ?? null });
    try {
      const { route, params } = router.match(method, path);
      operation = route.operation;
      answered = (await holds.take({ method, path, operation, body })) ?? undefined;
      if (principal === null) {
        throw new ArmError(401, "InvalidAuthenticationToken", "The access token is missing, invalid or expired, or its service principal no longer exists: sign in again with a client id and secret the directory holds.");
      }
      const wrongAudience = audienceRefusal(path.startsWith("/v1.0/") ? "graph" : "arm", principal.audience, baseUrl);
      if (wrongAudience !== null) throw wrongAudience;
      const before = faults.take("before", operation, method, path);
      if (before !== null) throw before;
      if (route.authorize !== undefined) {
        const { action, scope } = route.authorize(params);
        if (!isAllowed(context.arm.grants(), principal.objectId, action, scope)) throw new ArmError(403, "AuthorizationFailed", authorizationFailedMessage(principal.appId, principal.objectId, action, scope));
      }
      let parsed: unknown = undefined;
      if (body !== "") {
        try {
          parsed = JSON.parse(body);
        } catch {
          throw new ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: not JSON.");
        }
      }
      const answer = await route.handle({ method, path, params, query: url.searchParams, body: parsed, principal, baseUrl });
      const after = faults.take("after", operation, method, path);
      if (after !== null) throw after;
      return { record: record(), answer, ...(answered === undefined ? {} : { answered }) };
    } catch (error) {
      if (isArmError(error)) return { record: record(), answer: errorAnswer(error), ...(answered === undefined ? {} : { answered }) };
      throw error;
    }
  };

  const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const body = await readBody(request);
      const url = requestUrl(request);
      if (url.pathname.startsWith(HOOKS_PREFIX)) return send(response, hooks(url.pathname.slice(HOOKS_PREFIX.length), request.method ?? "GET", body));
      const { record, answer, answered } = await serve(request, body);
      const error = answer.status >= 400 ? (answer.body as { error?: { code?: string } | string } | undefined)?.error : undefined;
      calls.push({ ...record, status: answer.status, ...(error === undefined ? {} : { error: typeof error === "string" ? error : (error.code ?? "") }), time: new Date(now()).toISOString() });
      send(response, answer, request.method === "HEAD");
      answered?.({ status: answer.status, body: answer.body });
    })().catch((error: unknown) => {
      console.error("azure-local: request failed", error);
      if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { code: "InternalServerError", message: String(error) } }));
    });
  });

  const snapshot = (): AzureLocalSnapshot => takeSnapshot(context);
  const hooks = createHooks({ calls, faults, snapshot, runtimeUnavailable: unavailable });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;

  return {
    url: baseUrl,
    port,
    caPem: tls.caPem,
    tenantId,
    subscriptionId,
    ownerCredential: owner,
    calls: () => calls.map((c) => ({ ...c })),
    clearCalls: () => void (calls.length = 0),
    injectFault: (fault) => faults.add(fault),
    faults: () => faults.list(),
    clearFaults: () => faults.clear(),
    snapshot,
    holdNext: (match) => holds.add(match),
    runtimeUnavailable: unavailable,
    async close() {
      holds.releaseAll();
      await context.containerGroups.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function errorAnswer(error: ArmError): RouteResponse {
  return { status: error.status, body: error.body(), headers: { ...error.headers, "x-ms-failure-cause": "gateway" } };
}
