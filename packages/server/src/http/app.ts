import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import cookie from "@fastify/cookie";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { Type } from "@sinclair/typebox";
import {
  buildOpenApiDocument,
  checkJsonDepth,
  clip,
  clipIssues,
  createAjv,
  ERROR_CODES,
  FerryError,
  formatBytes,
  isFerryError,
  isTerminal,
  LIMITS,
  ROUTES,
  assertRole,
  type ErrorCode,
  type Role,
  type RouteDef,
  type RouteName,
  type WorkspaceRecord,
  WORKSPACE_EVENTS_PATH,
} from "@ferry/core";
import { hashApiKey } from "../api-keys.js";
import { RunTokens } from "../run-tokens.js";
import { RunStateCounts } from "../metrics.js";
import { safeEqual } from "../secrets.js";
import type { ServiceContext } from "../services/context.js";
import { findSession, SignInThrottle, type ActiveSession } from "../services/sessions.js";
import { findAccessToken, looksLikeAccessToken } from "../services/oidc.js";
import { handlers, type HttpCall } from "./handlers.js";
import { registerEventStream, registerWorkspaceEventStream } from "./event-stream.js";
import { assertSessionRequest, registerLoginLinkRoute, SESSION_COOKIE, type PublicAddress } from "./sessions.js";
import { DEFAULT_WEB_DIR, registerWebUi } from "./web-ui.js";

export interface AppOptions {
  ctx: ServiceContext;
  adminToken: string;
  logLevel: string;
  logStream?: NodeJS.WritableStream;
  version: string;
  /** False while starting and once shutting down: /readyz answers 503. */
  isReady(): boolean;
  /** Where browsers reach the server (login links, the cookie's Secure flag, Origin checks). */
  address?: PublicAddress;
  /** The built web UI; default the copy this package's build makes (dist/web). */
  webDir?: string;
}

declare module "fastify" {
  interface FastifyRequest {
    workspace?: WorkspaceRecord;
    /** Set when the caller is a managed run's engine: it may act on this run only. */
    runScope?: { flowRunId: string };
    /** Set when the caller is a browser signed in with the session cookie. */
    session?: ActiveSession;
    /** Set when the caller sent an API key (not a session, not a run token). */
    apiKeyId?: string;
    /**
     * What the caller may do (roles.ts): admin for API keys and sessions, the trust policy's role for
     * an OIDC access token. Unset for run tokens (their run scope limits them) and the operator.
     */
    role?: Role;
  }
}

const ErrorSchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});

/** Fastify paths use `:name` where the route table uses `{name}`. */
const fastifyPath = (path: string) => path.replace(/\{(\w+)\}/g, ":$1");

/**
 * The HTTP layer: a thin translator from the route table to the domain services. Validation comes from
 * the route's schemas, identity from the API key, and every error leaves as
 * `{ "error": { "code", "message", "details" } }` with the status its code implies.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { ctx } = options;
  const app = Fastify({
    logger: {
      level: options.logLevel,
      redact: ["req.headers.authorization", "req.headers.cookie"],
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    // One line per request is noise at a thousand runs a second; /metrics has the request durations.
    logController: new LogController({ disableRequestLogging: true }),
    // Our own 503 while closing (below), in the API's error shape.
    return503OnClosing: false,
    bodyLimit: LIMITS.bodyBytes,
    // A bad percent-encoding or an overlong path parameter, refused before routing: same error shape.
    frameworkErrors: (error, request, reply) => sendError(error, request, reply),
    // What Node's HTTP parser refuses (431 headers too large, a malformed request) never reaches Fastify's
    // handlers: the answer is written to the socket, still in the API's error shape.
    clientErrorHandler: (error, socket) => answerClientError(error, socket),
  });

  // Path parameters, query strings and headers arrive as text and are coerced to the schema's types;
  // a JSON body is taken as sent: "5" is not a number.
  const coercing = createAjv({ coerceTypes: "array" });
  const strict = createAjv({ coerceTypes: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === "body" ? strict : coercing).compile(schema));

  // Fastify's JSON parser (which refuses __proto__ and constructor.prototype), then a depth check: some
  // of what a body reaches (structured clones, the store's JSON columns) recurses once per level.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    parseJson(request, body as string, (error, value) => {
      if (error) {
        done((error as { code?: string }).code === "FST_ERR_CTP_INVALID_JSON_BODY" ? invalidJson(body as string) : error, undefined);
        return;
      }
      try {
        checkJsonDepth(value, LIMITS.jsonDepth, "the request body");
      } catch (depthError) {
        done(depthError as Error, undefined);
        return;
      }
      done(null, value);
    });
  });

  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onRequest", async (request, reply) => {
    if (!closing) return;
    reply.header("connection", "close");
    throw new FerryError("unavailable", "the server is shutting down; retry in a moment (against another server, or this one once it is back)");
  });
  // A request in flight when closing began ends its connection with its answer: Node closes the idle
  // connections only once, as closing starts, and a kept-alive one would hold the close for the keep-alive timeout.
  app.addHook("onSend", async (_request, reply, payload) => {
    if (closing) reply.header("connection", "close");
    return payload;
  });

  // The document is core's, built from the route table; the reference page (/docs) shows the same one.
  await app.register(swagger, {
    mode: "static",
    specification: { document: buildOpenApiDocument({ version: options.version }) as never },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  await app.register(cookie);
  const address: PublicAddress = options.address ?? { url: () => null };
  const webUi = await registerWebUi(app, options.webDir ?? DEFAULT_WEB_DIR);

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    if (webUi.fallback(request, reply)) return;
    const path = request.url.split("?")[0]!;
    const allowed = methodsOf(path);
    if (allowed.length) {
      reply.header("allow", allowed.join(", "));
      sendError(new FerryError("method_not_allowed", `${request.method} is not a method of ${clip(path)}; it takes ${allowed.join(", ")} (the API reference is at /docs)`), request, reply);
      return;
    }
    sendError(new FerryError("not_found", `no route ${clip(request.method, 20)} ${clip(path)}; the API reference is at /docs`), request, reply);
  });

  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    ctx.metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });

  const authenticate = authenticator(ctx, options.adminToken, address);
  const signIns = new SignInThrottle();
  const oidcExchanges = new SignInThrottle("too many refused token exchanges from this address; wait a minute, then exchange an ID token a trust policy of the workspace matches");

  for (const [name, route] of Object.entries(ROUTES) as [RouteName, RouteDef][]) {
    const admin = route.path.startsWith("/api/admin/");
    app.route({
      method: route.method,
      url: fastifyPath(route.path),
      schema: {
        operationId: name,
        summary: route.summary,
        tags: [route.tag],
        security: route.public ? [] : [admin ? { adminToken: [] } : { apiKey: [] }],
        ...(route.params ? { params: route.params } : {}),
        ...(route.query ? { querystring: route.query } : {}),
        ...(route.body ? { body: route.body } : {}),
        response: { [route.status]: route.response ?? Type.Null(), "4xx": ErrorSchema, "5xx": ErrorSchema },
      },
      // What an engine reports may be large: a batch of up to 1000 log lines, a flow's return value.
      ...(name === "writeFlowRunLogs" || name === "setFlowRunState" ? { bodyLimit: LIMITS.runReportBodyBytes } : {}),
      preHandler: route.public ? undefined : (request, _reply, done) => {
        authenticate(request, admin, route.runToken === true)
          .then(() => {
            // The one place a route's role is checked, for every credential that carries one. A route that
            // names no role is admin-only for such credentials: a route added without one is closed, not open.
            if (request.role) assertRole(request.role, route.role ?? "admin", `${route.method} ${route.path}`);
          })
          .then(() => done(), done);
      },
      handler: async (request, reply) => {
        const input = { params: request.params, query: request.query, body: request.body };
        await enforceRunScope(ctx, name, request, input.params as Record<string, string> | undefined);
        const handler = handlers[name] as (c: ServiceContext, ws: WorkspaceRecord | undefined, input: unknown, http: HttpCall) => Promise<unknown>;
        const result = await handler(ctx, request.workspace, input, { request, reply, address, signIns, oidcExchanges, version: options.version });
        // A revoked key must stop working here at once, not when its cache entry expires.
        if (name === "deleteApiKey") authenticate.clear();
        reply.code(route.status);
        return result;
      },
    });
  }

  registerEventStream(app, ctx, authenticate);
  registerWorkspaceEventStream(app, ctx, authenticate);
  registerLoginLinkRoute(app, ctx, address);

  // The version too, so `ferry version` can say which server it talks to without a key.
  app.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok", version: options.version }));
  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    if (!options.isReady()) {
      return reply.code(503).send({ status: "not ready", error: { code: "unavailable", message: "the server is starting or shutting down" } });
    }
    try {
      await ctx.store.countWorkspaces();
      return { status: "ready", store: ctx.store.kind };
    } catch (error) {
      const message = `the store does not answer: ${(error as Error).message}`;
      return reply.code(503).send({ status: "store unavailable", message, error: { code: "unavailable", message } });
    }
  });
  const runStates = new RunStateCounts(ctx.store);
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
    const counts = await runStates.read();
    ctx.metrics.runsByState.reset();
    for (const [state, n] of Object.entries(counts)) ctx.metrics.runsByState.set({ state }, n ?? 0);
    reply.header("content-type", ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  let openApi: { url: string | null; document: unknown } | undefined;
  app.get("/openapi.json", { schema: { hide: true } }, async () => {
    const url = address.url();
    if (openApi?.url !== url) openApi = { url, document: buildOpenApiDocument({ version: options.version, serverUrl: url }) };
    return openApi.document;
  });

  return app;
}

export type Authenticate = (request: FastifyRequest, admin: boolean, runTokenAllowed?: boolean) => Promise<void>;

/**
 * A run token reaches only its own run (and that run's deployment); the source route, which hands out
 * the git token, and the env route, which hands out secrets' values, answer run tokens only.
 */
async function enforceRunScope(ctx: ServiceContext, name: RouteName, request: FastifyRequest, params: Record<string, string> | undefined): Promise<void> {
  const scope = request.runScope;
  if (!scope) {
    if (name === "getFlowRunSource") {
      throw new FerryError("forbidden", "a run's source credentials are given to its engine only (run token); read the deployment instead");
    }
    if (name === "getFlowRunEnv") {
      throw new FerryError("forbidden", "a run's resolved env (its secrets' values) is given to its engine only (run token); secrets are never returned to API keys");
    }
    return;
  }
  const id = params?.id;
  if (name === "getDeployment") {
    const run = await ctx.store.getFlowRunForSystem(scope.flowRunId);
    if (!run || run.deployment_id !== id) throw new FerryError("not_found", `deployment '${id}' was not found`);
    return;
  }
  if (id !== scope.flowRunId) throw new FerryError("not_found", `flow run '${id}' was not found`);
}

/**
 * Resolves the request's workspace from its API key, else from the browser's session cookie. Keys are
 * looked up by hash, with a short cache so the hot path (creating runs) does not pay a query per
 * request; a revoked key stops working within the cache's lifetime on other processes, at once on
 * this one. Sessions are read from the store on every request, so signing out (or revoking the key
 * that signed in) ends them on every server at once. Run tokens and the operator token never come
 * from a cookie.
 */
function authenticator(ctx: ServiceContext, adminToken: string, address: PublicAddress): Authenticate & { clear(): void } {
  const cache = new Map<string, { workspace: WorkspaceRecord; keyId: string; expires: number; touched: number }>();
  const TTL = 5000;
  const fn = async (request: FastifyRequest, admin: boolean, runTokenAllowed = false) => {
    const header = request.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    const cookieValue = request.cookies[SESSION_COOKIE];
    if (!token && !admin && cookieValue) {
      const session = await findSession(ctx, cookieValue);
      if (!session) throw new FerryError("unauthenticated", "the session has ended or expired; sign in again");
      assertSessionRequest(request, address, session.record.csrf_token);
      request.workspace = session.workspace;
      request.session = session;
      request.role = "admin";
      return;
    }
    if (!token) {
      throw new FerryError("unauthenticated", admin
        ? "this route needs the operator token: send 'Authorization: Bearer <token>' (see FERRY_HOME/admin-token)"
        : "an API key is required: send 'Authorization: Bearer <key>' (the CLI does this from your profile; see 'ferry profile ls')");
    }
    if (admin) {
      if (!safeEqual(token, adminToken)) throw new FerryError("unauthenticated", "the operator token is not valid");
      return;
    }
    const now = Date.now();
    if (RunTokens.looksLikeRunToken(token)) {
      const claims = ctx.runTokens.verify(token, Math.floor(now / 1000));
      if (!runTokenAllowed) {
        throw new FerryError("forbidden", "a run token may only read its own run and report its state and logs; use an API key for anything else");
      }
      // Read fresh on every request (one primary-key read): a token must stop working the moment its
      // run ends, on every server, and a cache would leave it working for a while.
      const subject = await ctx.store.getRunTokenSubject(claims.flowRunId);
      if (!subject || subject.workspace.id !== claims.workspaceId) {
        throw new FerryError("unauthenticated", "the run token's flow run no longer exists");
      }
      if (isTerminal(subject.stateType)) {
        throw new FerryError("unauthenticated", `the run token no longer works: flow run ${claims.flowRunId} has ended (${subject.stateType})`);
      }
      request.workspace = subject.workspace;
      request.runScope = { flowRunId: claims.flowRunId };
      return;
    }
    if (looksLikeAccessToken(token)) {
      // Read fresh on every request, like a session: deleting the trust policy ends its tokens at once.
      const found = await findAccessToken(ctx, token);
      if (!found) throw new FerryError("unauthenticated", "the access token has expired or its trust policy was deleted; exchange a fresh OIDC token (POST /api/auth/oidc/token)");
      request.workspace = found.workspace;
      request.role = found.token.role;
      return;
    }
    const hash = hashApiKey(token);
    let hit = cache.get(hash);
    if (!hit || hit.expires < now) {
      const found = await ctx.store.findApiKeyByHash(hash);
      if (!found) {
        cache.delete(hash);
        throw new FerryError("unauthenticated", "the API key is not valid; check the key in your profile (ferry profile inspect) or create a new one");
      }
      hit = { workspace: found.workspace, keyId: found.key.id, expires: now + TTL, touched: hit?.touched ?? 0 };
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, hit);
    }
    if (now - hit.touched > 60_000) {
      hit.touched = now;
      ctx.store.touchApiKey(hit.keyId, new Date(now).toISOString()).catch(() => undefined);
    }
    request.workspace = hit.workspace;
    request.apiKeyId = hit.keyId;
    request.role = "admin";
  };
  return Object.assign(fn, { clear: () => cache.clear() });
}

/** Why a body Fastify's parser refused is not JSON (its own error does not say). */
function invalidJson(body: string): FerryError {
  try {
    JSON.parse(body);
  } catch (error) {
    return new FerryError("validation_failed", `the request body is not valid JSON: ${clip((error as Error).message, 300)}`);
  }
  return new FerryError("validation_failed", "the request body is not valid JSON: it has a '__proto__' or 'constructor.prototype' key, which is refused");
}

/** The API's paths as patterns, for telling a wrong method (405) from an unknown path (404). */
const ROUTE_PATTERNS = (Object.values(ROUTES) as RouteDef[]).map((r) => ({
  method: r.method,
  pattern: new RegExp(`^${r.path.replace(/\{\w+\}/g, "[^/]+")}/?$`),
}));

function methodsOf(path: string): string[] {
  const methods = new Set(ROUTE_PATTERNS.filter((r) => r.pattern.test(path)).map((r) => r.method));
  if (/^\/api\/flow-runs\/[^/]+\/events\/?$/.test(path) || path === WORKSPACE_EVENTS_PATH) methods.add("GET");
  return [...methods];
}

/** The error code of a status Fastify or Node answers with before a route's handler runs. */
const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: "validation_failed",
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  408: "request_timeout",
  413: "payload_too_large",
  414: "uri_too_long",
  415: "unsupported_media_type",
  431: "headers_too_large",
  503: "unavailable",
};

/** A message past this is cut in its middle: its start says what failed, its end what to do. */
const MAX_MESSAGE = 2000;

function shortened(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, 1200)} … ${message.slice(-600)}`;
}

function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: { code, message: shortened(message), ...(details === undefined ? {} : { details }) } };
}

/** A message for what Fastify refuses on its own, saying what to do instead. */
function frameworkMessage(e: { code?: string; message: string }, request: FastifyRequest, status: number): string {
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE": {
      const limit = request.routeOptions.bodyLimit ?? LIMITS.bodyBytes;
      return `the request body is larger than ${formatBytes(limit)}, the limit of this route; send less (large data by reference: a URL or a path)`;
    }
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return `the body's Content-Type '${clip(String(request.headers["content-type"] ?? ""), 100)}' is not taken here; send JSON with 'Content-Type: application/json'`;
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return "the body is empty but Content-Type says JSON; send a JSON body, or no Content-Type";
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return "the body's size does not match its Content-Length header";
    case "FST_ERR_BAD_URL":
      return `the URL '${clip(request.url, 100)}' is not valid (check its percent-encoding)`;
    case "FST_ERR_MAX_PARAM_LENGTH":
      return `a path parameter of '${clip(request.url, 100)}' is longer than the router takes; names and ids are at most 63 and 36 characters`;
    default:
      return status === 400 ? `the request is not valid: ${clip(e.message, 300)}` : clip(e.message, 300);
  }
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  if (isFerryError(error)) {
    if (error.status >= 500) request.log.error({ err: error }, error.message);
    reply.code(error.status).send(errorBody(error.code, error.message, error.details));
    return;
  }
  const e = error as { validation?: { instancePath: string; message?: string; params?: Record<string, unknown>; keyword: string }[]; validationContext?: string; statusCode?: number; message: string; code?: string };
  if (e.validation) {
    const issues = clipIssues(e.validation.map((v) => {
      const path = v.keyword === "additionalProperties" ? `${v.instancePath}/${String(v.params?.additionalProperty)}` : v.instancePath;
      const message = v.keyword === "additionalProperties" ? "is not a known field" : v.message ?? "is invalid";
      return { path, message };
    }));
    const where = e.validationContext === "querystring" ? "query" : e.validationContext ?? "request";
    const text = issues.map((i) => (i.path ? `${i.path} ${i.message}` : i.message)).join("; ");
    reply.code(400).send(errorBody("validation_failed", `the ${where} is invalid: ${text}`, { issues }));
    return;
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    const code = CODE_OF_STATUS[e.statusCode] ?? "validation_failed";
    reply.code(ERROR_CODES[code].status).send(errorBody(code, frameworkMessage(e, request, e.statusCode)));
    return;
  }
  request.log.error({ err: error }, "unhandled error");
  reply.code(500).send(errorBody("internal", `internal error (request ${request.id}); the server log has the details`));
}

/** Answers what Node's HTTP parser refused (no request exists yet), in the API's error shape, and closes. */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  let code: ErrorCode = "validation_failed";
  let message = "the HTTP request is malformed";
  if (error.code === "HPE_HEADER_OVERFLOW") {
    code = "headers_too_large";
    message = "the request's headers (with its URL) are larger than the server takes (16 KiB); send a shorter URL or fewer headers";
  } else if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    code = "request_timeout";
    message = "the request was not received in time; send it again";
  } else if (error.code === "HPE_URI_TOO_LONG") {
    code = "uri_too_long";
    message = "the request's URL is too long";
  }
  const status = ERROR_CODES[code].status;
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
