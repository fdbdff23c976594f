import { Type, type TSchema } from "@sinclair/typebox";
import { ERROR_CODES } from "../errors.js";
import {
  ApiKeySchema,
  BaseJobTemplateSchema,
  CreatedApiKeySchema,
  CredentialsSchema,
  DeploymentSchema,
  DeploymentSourceSchema,
  FlowRunSchema,
  LogLevelSchema,
  LogLineSchema,
  LoginLinkSchema,
  ProviderInfoSchema,
  PullStepSchema,
  QuotaSchema,
  QuotaUsageSchema,
  SessionSchema,
  StateHistoryEntrySchema,
  StateNameSchema,
  StateSchema,
  StateTypeSchema,
  TierLimitsSchema,
  TierNameSchema,
  WorkPoolSchema,
  WorkspaceSchema,
} from "../models.js";
import {
  CredentialsCreateSchema,
  DeploymentApplyResultSchema,
  DeploymentApplySchema,
  FLOW_RUN_EVENTS_PATH,
  FlowRunCreateSchema,
  FlowRunListQuerySchema,
  LogInputSchema,
  ROUTES,
  SetStateSchema,
  WORKSPACE_EVENTS_PATH,
  WorkPoolCreateSchema,
  WorkPoolUpdateSchema,
  type RouteDef,
} from "./routes.js";
import { ERROR_EXAMPLES, REQUEST_EXAMPLES, RESPONSE_EXAMPLES } from "./openapi-examples.js";

/** The API's error body, as every route answers a failure. */
export const ErrorResponseSchema = Type.Object({
  error: Type.Object({
    code: Type.Union((Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]).map((c) => Type.Literal(c)), {
      description: "Stable: branch on it, not on the message",
    }),
    message: Type.String({ description: "What failed and how to fix it" }),
    details: Type.Optional(Type.Unknown({ description: "Structured context, e.g. `issues` of a validation failure" })),
  }),
});

export const FlowRunStateEventSchema = Type.Object({
  kind: Type.Literal("state"),
  id: Type.String({ description: "The event's id: send it back as Last-Event-ID to resume after it" }),
  flow_run_id: Type.String(),
  state: StateHistoryEntrySchema,
});
export const FlowRunLogEventSchema = Type.Object({
  kind: Type.Literal("log"),
  id: Type.String({ description: "The event's id: send it back as Last-Event-ID to resume after it" }),
  flow_run_id: Type.String(),
  log: LogLineSchema,
});

/**
 * Schemas given a name in `components.schemas`: wherever one of them appears inside a route's schema it
 * is replaced by a `$ref`, so a generated client has one `FlowRun` type rather than one per route.
 * Matched by content, not identity: TypeBox copies some schemas it composes.
 */
const NAMED_SCHEMAS: [string, TSchema][] = [
  ["WorkPoolCreate", WorkPoolCreateSchema],
  ["WorkPoolUpdate", WorkPoolUpdateSchema],
  ["CredentialsCreate", CredentialsCreateSchema],
  ["DeploymentApply", DeploymentApplySchema],
  ["DeploymentApplyResult", DeploymentApplyResultSchema],
  ["FlowRunCreate", FlowRunCreateSchema],
  ["FlowRunListQuery", FlowRunListQuerySchema],
  ["SetState", SetStateSchema],
  ["LogInput", LogInputSchema],
  ["Workspace", WorkspaceSchema],
  ["TierLimits", TierLimitsSchema],
  ["TierName", TierNameSchema],
  ["ApiKey", ApiKeySchema],
  ["CreatedApiKey", CreatedApiKeySchema],
  ["BaseJobTemplate", BaseJobTemplateSchema],
  ["WorkPool", WorkPoolSchema],
  ["Credentials", CredentialsSchema],
  ["DeploymentSource", DeploymentSourceSchema],
  ["PullStep", PullStepSchema],
  ["Deployment", DeploymentSchema],
  ["State", StateSchema],
  ["StateHistoryEntry", StateHistoryEntrySchema],
  ["StateType", StateTypeSchema],
  ["StateName", StateNameSchema],
  ["FlowRun", FlowRunSchema],
  ["LogLevel", LogLevelSchema],
  ["LogLine", LogLineSchema],
  ["Quota", QuotaSchema],
  ["QuotaUsage", QuotaUsageSchema],
  ["Session", SessionSchema],
  ["LoginLink", LoginLinkSchema],
  ["ProviderInfo", ProviderInfoSchema],
  ["FlowRunStateEvent", FlowRunStateEventSchema],
  ["FlowRunLogEvent", FlowRunLogEventSchema],
  ["ErrorResponse", ErrorResponseSchema],
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface OpenApiOptions {
  version: string;
  /** Where clients reach the server (FERRY_PUBLIC_URL or the listening address); "/" when unknown. */
  serverUrl?: string | null;
}

/** A plain JSON copy: drops TypeBox's symbol keys, which are not part of the JSON Schema. */
const plain = (schema: TSchema): JsonObject => JSON.parse(JSON.stringify(schema)) as JsonObject;

/** JSON with sorted keys, to compare schemas by content. */
export function canonical(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k]!)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const NAMES_BY_CONTENT = new Map(NAMED_SCHEMAS.map(([name, schema]) => [canonical(plain(schema)), name]));

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });

/**
 * `schema` with every named schema inside it replaced by a `$ref`. A nullable copy of one
 * (`type: ["object", "null"]`, see `Nullable`) becomes `anyOf: [$ref, null]`. `self` is not replaced at
 * the top, so a named schema's own definition is not a reference to itself.
 */
export function withRefs(schema: Json, self?: string): Json {
  const walk = (node: Json, top: boolean): Json => {
    if (Array.isArray(node)) return node.map((n) => walk(n, false));
    if (!node || typeof node !== "object") return node;
    const name = NAMES_BY_CONTENT.get(canonical(node));
    if (name && !(top && name === self)) return ref(name);
    const type = node.type;
    if (Array.isArray(type) && type.length === 2 && type[1] === "null") {
      const inner = NAMES_BY_CONTENT.get(canonical({ ...node, type: type[0]! }));
      if (inner) return { anyOf: [ref(inner), { type: "null" }] };
    }
    const out: JsonObject = {};
    // Keywords whose values are schemas or maps of schemas; `const`, `default`, `examples` are data.
    for (const [key, value] of Object.entries(node)) {
      out[key] = ["const", "default", "examples", "enum", "required"].includes(key) ? value : walk(value, false);
    }
    return out;
  };
  return walk(schema, true);
}

const pascal = (name: string) => name[0]!.toUpperCase() + name.slice(1);

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Who may call a route: the same rules as the server's authenticator. */
function securityOf(route: RouteDef): JsonObject[] {
  if (route.public) return [];
  if (route.path.startsWith("/api/admin/")) return [{ adminToken: [] }];
  const session: JsonObject = UNSAFE.has(route.method) ? { sessionCookie: [], csrfToken: [] } : { sessionCookie: [] };
  return [{ apiKey: [] }, { accessToken: [] }, session, ...(route.runToken ? [{ runToken: [] }] : [])];
}

/** A params or query object schema as OpenAPI parameters, one per property. */
function parametersOf(schema: TSchema | undefined, where: "path" | "query"): Json[] {
  if (!schema) return [];
  const json = plain(schema) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === "path" || (json.required ?? []).includes(name),
      ...(description === undefined ? {} : { description }),
      schema: withRefs(rest),
    };
  });
}

function errorResponses(route: RouteDef): JsonObject {
  const out: JsonObject = { "400": { $ref: "#/components/responses/ValidationFailed" } };
  // The OIDC token exchange is public, yet refuses a token it does not accept with a 401.
  if (!route.public || route.path === "/api/auth/oidc/token") out["401"] = { $ref: "#/components/responses/Unauthenticated" };
  if (route.role) out["403"] = { $ref: "#/components/responses/Forbidden" };
  if (route.params) out["404"] = { $ref: "#/components/responses/NotFound" };
  out["4XX"] = { $ref: "#/components/responses/ClientError" };
  out["5XX"] = { $ref: "#/components/responses/ServerError" };
  return out;
}

function errorResponse(description: string, codes: (keyof typeof ERROR_CODES)[]): JsonObject {
  return {
    description,
    content: {
      "application/json": {
        schema: ref("ErrorResponse"),
        examples: Object.fromEntries(codes.map((code): [string, Json] => [code, { value: { error: { code, message: ERROR_EXAMPLES[code] ?? code } } }])),
      },
    },
  };
}

/** The server-sent-event streams: not JSON, so described beside the route table. */
function eventStreamPaths(): JsonObject {
  const idParam = { name: "id", in: "path", required: true, schema: { type: "string" } };
  const lastEventId = {
    name: "Last-Event-ID",
    in: "header",
    required: false,
    description: "Resume after this event id (the `id:` of the last event received); sent by EventSource on reconnect",
    schema: { type: "string", pattern: "^\\d{1,19}$" },
  };
  const errors = { "400": { $ref: "#/components/responses/ValidationFailed" }, "401": { $ref: "#/components/responses/Unauthenticated" }, "4XX": { $ref: "#/components/responses/ClientError" }, "5XX": { $ref: "#/components/responses/ServerError" } };
  return {
    [FLOW_RUN_EVENTS_PATH]: {
      get: {
        operationId: "streamFlowRunEvents",
        summary: "Follow a run: its state changes and log lines as server-sent events (resumable with Last-Event-ID)",
        description:
          "Server-sent events, in the order they happened. `event: state` carries a FlowRunStateEvent, `event: log` a FlowRunLogEvent, " +
          "each with an `id:` to resume from; `event: end` (data `{}`) closes the stream once the run is final and everything was sent. " +
          "Comment lines (`: keep-alive`) keep idle connections open.",
        tags: ["flow-runs"],
        security: [{ apiKey: [] }, { sessionCookie: [] }],
        parameters: [idParam, lastEventId],
        responses: {
          "200": {
            description: "The run's events",
            content: {
              "text/event-stream": {
                schema: { oneOf: [ref("FlowRunStateEvent"), ref("FlowRunLogEvent")], discriminator: { propertyName: "kind" } },
                "x-sse-events": {
                  state: ref("FlowRunStateEvent"),
                  log: ref("FlowRunLogEvent"),
                  end: { type: "object", additionalProperties: false, description: "The last event: the run is final" },
                },
                example: 'id: 42\nevent: state\ndata: {"kind":"state","id":"42","flow_run_id":"…","state":{…}}\n\n',
              },
            },
          },
          ...errors,
          "404": { $ref: "#/components/responses/NotFound" },
        },
      },
    },
    [WORKSPACE_EVENTS_PATH]: {
      get: {
        operationId: "streamWorkspaceEvents",
        summary: "Follow the workspace's runs: `event: run` with the flow run whenever one is created or changes state (server-sent events)",
        tags: ["flow-runs"],
        security: [{ apiKey: [] }, { sessionCookie: [] }],
        responses: {
          "200": {
            description: "`event: run` with the FlowRun as data, whenever one is created or changes state",
            content: {
              "text/event-stream": {
                schema: ref("FlowRun"),
                "x-sse-events": { run: ref("FlowRun") },
              },
            },
          },
          ...errors,
        },
      },
    },
  };
}

/**
 * The OpenAPI 3.1 document of the API, built from the route table (`ROUTES`): the same TypeBox schemas
 * the server validates with, so the document cannot describe another API than the one served.
 */
export function buildOpenApiDocument(options: OpenApiOptions): JsonObject {
  const schemas: JsonObject = {};
  for (const [name, schema] of NAMED_SCHEMAS) schemas[name] = withRefs(plain(schema), name);

  const paths: Record<string, JsonObject> = {};
  for (const [name, route] of Object.entries(ROUTES) as [keyof typeof ROUTES, RouteDef][]) {
    const operation: JsonObject = {
      operationId: name,
      summary: route.summary,
      tags: [route.tag],
      security: securityOf(route),
      ...(route.role
        ? {
            description: `Needs the '${route.role}' role or above (viewer < runner < deployer < admin): API keys and sessions are admin; an OIDC access token has its trust policy's. Below it: 403.`,
            "x-ferry-role": route.role,
          }
        : {}),
    };
    const parameters = [...parametersOf(route.params, "path"), ...parametersOf(route.query, "query")];
    if (parameters.length) operation.parameters = parameters;
    if (route.body) {
      const bodyRef = withRefs(plain(route.body));
      const schemaName = `${pascal(name)}Request`;
      if (!("$ref" in (bodyRef as JsonObject))) schemas[schemaName] = bodyRef;
      const example = REQUEST_EXAMPLES[name];
      operation.requestBody = {
        required: true,
        content: {
          "application/json": {
            schema: "$ref" in (bodyRef as JsonObject) ? bodyRef : ref(schemaName),
            ...(example === undefined ? {} : { example: example as Json }),
          },
        },
      };
    }
    const example = RESPONSE_EXAMPLES[name];
    let success: JsonObject = { description: route.summary };
    if (route.response) {
      const responseRef = withRefs(plain(route.response));
      const schemaName = `${pascal(name)}Response`;
      if (!("$ref" in (responseRef as JsonObject))) schemas[schemaName] = responseRef;
      success = {
        description: route.summary,
        content: {
          "application/json": {
            schema: "$ref" in (responseRef as JsonObject) ? responseRef : ref(schemaName),
            ...(example === undefined ? {} : { example: example as Json }),
          },
        },
      };
    }
    operation.responses = { [String(route.status)]: success, ...errorResponses(route) };
    const key = route.path;
    paths[key] = { ...(paths[key] ?? {}), [route.method.toLowerCase()]: operation };
  }
  Object.assign(paths, eventStreamPaths());

  return {
    openapi: "3.1.0",
    info: {
      title: "Ferry API",
      version: options.version,
      description:
        "Run flows on managed execution and push work pools. Authenticate with `Authorization: Bearer <API key>`; " +
        "a browser signed in through POST /api/sessions uses the session cookie, with its CSRF token in `x-csrf-token` on every change. " +
        "Every failure answers `{ \"error\": { \"code\", \"message\", \"details\" } }`.",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    servers: [{ url: options.serverUrl || "/", description: "This Ferry server" }],
    tags: [...new Set(Object.values(ROUTES).map((r: RouteDef) => r.tag))].map((name) => ({ name })),
    paths: paths as Json,
    components: {
      schemas,
      responses: {
        ValidationFailed: errorResponse("The request is not valid: `details.issues` says which fields", ["validation_failed"]),
        Unauthenticated: errorResponse("No valid API key, session or token", ["unauthenticated"]),
        Forbidden: errorResponse("Refused: the credential's role is below the route's (`details`: needed_role, held_role), or another rule (e.g. a spent quota)", ["forbidden", "quota_exceeded"]),
        NotFound: errorResponse("The object does not exist in this workspace", ["not_found"]),
        ClientError: errorResponse("Another refusal: see the error's code", ["forbidden", "conflict", "invalid_transition", "quota_exceeded", "payload_too_large"]),
        ServerError: errorResponse("The server or a provider failed; `unavailable` and provider errors may be retried", ["internal", "unavailable", "provider_error"]),
      },
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "A workspace API key (fy_…)" },
        adminToken: { type: "http", scheme: "bearer", description: "The server's operator token (FERRY_HOME/admin-token)" },
        runToken: { type: "http", scheme: "bearer", description: "A managed run's token, for its own run only (given to the engine)" },
        accessToken: { type: "http", scheme: "bearer", description: "A short-lived access token (fo_…) from POST /api/auth/oidc/token, with its trust policy's role" },
        sessionCookie: { type: "apiKey", in: "cookie", name: "ferry_session", description: "A browser's session, set by POST /api/sessions" },
        csrfToken: { type: "apiKey", in: "header", name: "x-csrf-token", description: "The session's CSRF token (GET /api/session), required with the cookie on POST, PUT, PATCH and DELETE" },
      },
    },
  };
}
