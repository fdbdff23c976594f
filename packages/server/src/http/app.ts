import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { Type } from "@sinclair/typebox";
import { FerryError, isFerryError, isTerminal, ROUTES, type RouteDef, type RouteName, type WorkspaceRecord } from "@ferry/core";
import { hashApiKey } from "../api-keys.js";
import { RunTokens } from "../run-tokens.js";
import { safeEqual } from "../secrets.js";
import type { ServiceContext } from "../services/context.js";
import { handlers } from "./handlers.js";
import { registerEventStream } from "./event-stream.js";

export interface AppOptions {
  ctx: ServiceContext;
  adminToken: string;
  logLevel: string;
  logStream?: NodeJS.WritableStream;
  version: string;
  /** False while starting and once shutting down: /readyz answers 503. */
  isReady(): boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    workspace?: WorkspaceRecord;
    /** Set when the caller is a managed run's engine: it may act on this run only. */
    runScope?: { flowRunId: string };
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
      redact: ["req.headers.authorization"],
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    // One line per request is noise at a thousand runs a second; /metrics has the request durations.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    bodyLimit: 16 * 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", useDefaults: true, allErrors: true } },
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Ferry API",
        version: options.version,
        description: "Run flows on managed execution and push work pools. Authenticate with `Authorization: Bearer <API key>`.",
      },
      components: {
        securitySchemes: {
          apiKey: { type: "http", scheme: "bearer", description: "A workspace API key (fy_…)" },
          adminToken: { type: "http", scheme: "bearer", description: "The server's operator token" },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { code: "not_found", message: `no route ${request.method} ${request.url.split("?")[0]}; the API reference is at /docs` } });
  });

  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    ctx.metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });

  const authenticate = authenticator(ctx, options.adminToken);

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
      preHandler: route.public ? undefined : (request, _reply, done) => {
        authenticate(request, admin, route.runToken === true).then(() => done(), done);
      },
      handler: async (request, reply) => {
        const input = { params: request.params, query: request.query, body: request.body };
        await enforceRunScope(ctx, name, request, input.params as Record<string, string> | undefined);
        const handler = handlers[name] as (c: ServiceContext, ws: WorkspaceRecord | undefined, input: unknown) => Promise<unknown>;
        const result = await handler(ctx, request.workspace, input);
        // A revoked key must stop working here at once, not when its cache entry expires.
        if (name === "deleteApiKey") authenticate.clear();
        reply.code(route.status);
        return result;
      },
    });
  }

  registerEventStream(app, ctx, authenticate);

  app.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    if (!options.isReady()) return reply.code(503).send({ status: "not ready" });
    try {
      await ctx.store.countWorkspaces();
      return { status: "ready", store: ctx.store.kind };
    } catch (error) {
      return reply.code(503).send({ status: "store unavailable", message: (error as Error).message });
    }
  });
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
    const counts = await ctx.store.countFlowRunsByState();
    ctx.metrics.runsByState.reset();
    for (const [state, n] of Object.entries(counts)) ctx.metrics.runsByState.set({ state }, n ?? 0);
    reply.header("content-type", ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  app.get("/", { schema: { hide: true } }, async (_request, reply) => reply.redirect("/docs"));

  return app;
}

export type Authenticate = (request: FastifyRequest, admin: boolean, runTokenAllowed?: boolean) => Promise<void>;

/**
 * A run token reaches only its own run (and that run's deployment); the source route, which hands out
 * the git token, answers run tokens only.
 */
async function enforceRunScope(ctx: ServiceContext, name: RouteName, request: FastifyRequest, params: Record<string, string> | undefined): Promise<void> {
  const scope = request.runScope;
  if (!scope) {
    if (name === "getFlowRunSource") {
      throw new FerryError("forbidden", "a run's source credentials are given to its engine only (run token); read the deployment instead");
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
 * Resolves the request's workspace from its API key. Keys are looked up by hash, with a short cache so
 * the hot path (creating runs) does not pay a query per request; a revoked key stops working within
 * the cache's lifetime on other processes, at once on this one.
 */
function authenticator(ctx: ServiceContext, adminToken: string): Authenticate & { clear(): void } {
  const cache = new Map<string, { workspace: WorkspaceRecord; keyId: string; expires: number; touched: number }>();
  const TTL = 5000;
  const fn = async (request: FastifyRequest, admin: boolean, runTokenAllowed = false) => {
    const header = request.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
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
  };
  return Object.assign(fn, { clear: () => cache.clear() });
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  if (isFerryError(error)) {
    if (error.status >= 500) request.log.error({ err: error }, error.message);
    reply.code(error.status).send(error.toJSON());
    return;
  }
  const e = error as { validation?: { instancePath: string; message?: string; params?: Record<string, unknown>; keyword: string }[]; validationContext?: string; statusCode?: number; message: string; code?: string };
  if (e.validation) {
    const issues = e.validation.map((v) => {
      const path = v.keyword === "additionalProperties" ? `${v.instancePath}/${String(v.params?.additionalProperty)}` : v.instancePath;
      const message = v.keyword === "additionalProperties" ? "is not a known field" : v.message ?? "is invalid";
      return { path, message };
    });
    const where = e.validationContext === "querystring" ? "query" : e.validationContext ?? "request";
    const text = issues.map((i) => (i.path ? `${i.path} ${i.message}` : i.message)).join("; ");
    reply.code(400).send({ error: { code: "validation_failed", message: `the ${where} is invalid: ${text}`, details: { issues } } });
    return;
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    const code = e.statusCode === 413 ? "payload_too_large" : e.statusCode === 404 ? "not_found" : "validation_failed";
    reply.code(e.statusCode).send({ error: { code, message: e.message } });
    return;
  }
  request.log.error({ err: error }, "unhandled error");
  reply.code(500).send({ error: { code: "internal", message: `internal error (request ${request.id}); the server log has the details` } });
}
