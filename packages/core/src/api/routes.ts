import { Type, type Static, type TSchema } from "@sinclair/typebox";
import {
  ApiKeySchema,
  CreatedApiKeySchema,
  CredentialsSchema,
  DeploymentSchema,
  DeploymentSourceSchema,
  FlowRunSchema,
  LogLevelSchema,
  LogLineSchema,
  LoginLinkSchema,
  QuotaUsageSchema,
  SessionSchema,
  ProviderInfoSchema,
  PullStepSchema,
  QuotaSchema,
  StateHistoryEntrySchema,
  StateNameSchema,
  StateTypeSchema,
  TierLimitsSchema,
  TierNameSchema,
  WorkPoolSchema,
  WorkspaceSchema,
  BaseJobTemplateSchema,
  CatchupPolicySchema,
  CollisionStrategySchema,
  DeploymentScheduleSchema,
  ScheduleSpecSchema,
  RetryFields,
  SecretSchema,
  VariableNameSchema,
  VariableSchema,
  Nullable,
  pageSchema,
} from "../models.js";
import { LIMITS } from "../limits.js";
import { OidcTrustPolicyCreateSchema, OidcTrustPolicySchema } from "../oidc-trust.js";
import { RoleSchema, type Role } from "../roles.js";

/**
 * The HTTP API as data. The server registers a handler for every entry (the compiler checks it has
 * one for each), the OpenAPI document is generated from it, and `FerryClient` calls through it, so the
 * client and the server cannot drift apart.
 */
export interface RouteDef {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  summary: string;
  tag: string;
  params?: TSchema;
  query?: TSchema;
  body?: TSchema;
  response: TSchema | null;
  status: number;
  /** Routes that need no API key. */
  public?: boolean;
  /**
   * The weakest role that may call the route (roles.ts); the server checks it in one place for every
   * credential. Every route but the public and operator (`/api/admin/`) ones names one (a test checks).
   */
  role?: Role;
  /** Routes a run token (given to a managed run's engine) may call, for its own run only. */
  runToken?: boolean;
}

const JsonObject = Type.Record(Type.String(), Type.Unknown());
/**
 * A name or reference given in a body or query. Its own rules (names.ts) say what a valid one looks
 * like; this bound keeps an overlong one from being carried into messages and queries.
 */
const Ref = (options: { description?: string } = {}) => Type.String({ maxLength: 200, ...options });
const NameParam = Type.Object({ name: Type.String() });
const IdParam = Type.Object({ id: Type.String() });
const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.pageItems, default: 100 }));
/** The store keeps it in a 32-bit column: a larger value is refused here, not by the database. */
const ConcurrencyLimit = Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: LIMITS.int32Max })));
const Cursor = Type.Optional(Type.String({ maxLength: 1000, description: "The `next_cursor` of the previous page" }));
const Deleted = Type.Object({ deleted: Type.Literal(true) });
const IncludeTotal = Type.Optional(
  Type.Boolean({
    default: false,
    description: "Also answer `total` (counted up to 10,000, estimated beyond and marked `total_is_estimate`); without it nothing is counted",
  }),
);
/** What every list takes: a page size, the cursor of the page before, and whether to count the whole list. */
const ListParams = { limit: Limit, cursor: Cursor, include_total: IncludeTotal };
export const ListQuerySchema = Type.Object(ListParams, { additionalProperties: false });
export type ListQuery = Static<typeof ListQuerySchema>;

export const WorkPoolCreateSchema = Type.Object(
  {
    name: Ref(),
    type: Ref({ description: "A registered pool type, e.g. ferry:managed or a push type such as name:push" }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    base_job_template: Type.Optional(BaseJobTemplateSchema),
    concurrency_limit: ConcurrencyLimit,
    paused: Type.Optional(Type.Boolean()),
    credentials: Type.Optional(Nullable(Ref())),
  },
  { additionalProperties: false },
);
export type WorkPoolCreate = Static<typeof WorkPoolCreateSchema>;

export const WorkPoolUpdateSchema = Type.Object(
  {
    description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    base_job_template: Type.Optional(BaseJobTemplateSchema),
    concurrency_limit: ConcurrencyLimit,
    paused: Type.Optional(Type.Boolean()),
    credentials: Type.Optional(Nullable(Ref())),
  },
  { additionalProperties: false },
);
export type WorkPoolUpdate = Static<typeof WorkPoolUpdateSchema>;

export const CredentialsCreateSchema = Type.Object(
  {
    name: Ref(),
    type: Ref(),
    data: JsonObject,
    overwrite: Type.Optional(Type.Boolean({ description: "Replace credentials of the same name instead of failing" })),
  },
  { additionalProperties: false },
);
export type CredentialsCreate = Static<typeof CredentialsCreateSchema>;

/** A schedule as given: its spec, and whether it is active (default true). */
function ScheduleInputSchema() {
  return Type.Composite([ScheduleSpecSchema, Type.Object({ active: Type.Optional(Type.Boolean()) })], { additionalProperties: false });
}
export const ScheduleCreateSchema = ScheduleInputSchema();
export type ScheduleCreate = Static<typeof ScheduleCreateSchema>;

export const DeploymentSchedulesSchema = Type.Object({
  items: Type.Array(
    Type.Composite([
      DeploymentScheduleSchema,
      Type.Object({ next_runs: Type.Array(Type.String({ format: "date-time" }), { description: "Its next times (none while it or the deployment is paused)" }) }),
    ]),
  ),
});
export type DeploymentSchedules = Static<typeof DeploymentSchedulesSchema>;

export const DeploymentApplySchema = Type.Object(
  {
    flow_name: Type.String({ minLength: 1, maxLength: 200 }),
    name: Ref(),
    work_pool: Ref(),
    source: DeploymentSourceSchema,
    entrypoint: Type.String({ maxLength: 1000 }),
    job_variables: Type.Optional(JsonObject),
    parameters: Type.Optional(JsonObject),
    parameter_schema: Type.Optional(Nullable(JsonObject)),
    pull_steps: Type.Optional(Nullable(Type.Array(PullStepSchema))),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
    description: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
    paused: Type.Optional(Type.Boolean()),
    schedules: Type.Optional(Type.Array(ScheduleInputSchema(), { maxItems: 50 })),
    catchup_policy: Type.Optional(CatchupPolicySchema),
    catchup_max_runs: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: "With catch_up: how many missed runs at most (default 1)" })),
    concurrency_limit: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: LIMITS.int32Max }))),
    collision_strategy: Type.Optional(CollisionStrategySchema),
    late_after_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400, description: "Grace before a run that has not started is Late (default 60)" })),
    ...OptionalRetryFields(),
  },
  { additionalProperties: false },
);
export type DeploymentApply = Static<typeof DeploymentApplySchema>;

export const DeploymentApplyResultSchema = Type.Object({
  deployment: DeploymentSchema,
  action: Type.Union([Type.Literal("created"), Type.Literal("updated"), Type.Literal("unchanged")]),
});
export type DeploymentApplyResult = Static<typeof DeploymentApplyResultSchema>;

/** The retry policy's fields, each optional: a deployment's defaults (0, 0, false), a run's override of its deployment's. */
function OptionalRetryFields() {
  const f = RetryFields();
  return { retries: Type.Optional(f.retries), retry_delay_seconds: Type.Optional(f.retry_delay_seconds), retry_on_crash: Type.Optional(f.retry_on_crash) };
}

export const VariableValueSchema = Type.Object(
  { value: Type.String({ maxLength: 65_536, description: "The value; for a secret, sent once and never returned" }) },
  { additionalProperties: false },
);
export type VariableValue = Static<typeof VariableValueSchema>;

export const FlowRunCreateSchema = Type.Object(
  {
    ...OptionalRetryFields(),
    parameters: Type.Optional(JsonObject),
    job_variables: Type.Optional(JsonObject),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    scheduled_start_time: Type.Optional(
      Type.String({
        format: "date-time",
        description: "Start the run no earlier than this time (it waits SCHEDULED until then); default now. Not more than a year ahead.",
      }),
    ),
    idempotency_key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          "Makes creating a run safe to retry. A key reused within 24 hours with the same deployment, parameters (after the deployment's defaults) " +
          "and job variables returns the run it made (`created: false`), starting nothing. With different ones the answer is 409 `conflict`: " +
          "its details give both requests (stored and requested: deployment and the names of their parameters and job variables, never values) " +
          "and the names that differ; use a new key for a different request. After 24 hours the key makes a new run.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type FlowRunCreate = Static<typeof FlowRunCreateSchema>;

export const FlowRunListQuerySchema = Type.Object(
  {
    deployment_id: Type.Optional(Ref()),
    work_pool: Type.Optional(Ref()),
    state: Type.Optional(Ref({ description: "Comma-separated state types, e.g. RUNNING,PENDING" })),
    id_prefix: Type.Optional(
      Type.String({ minLength: 4, maxLength: 36, pattern: "^[0-9a-fA-F-]+$", description: "Only runs whose id starts with this (at least 4 characters)" }),
    ),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "Only runs with this exact name" })),
    created_after: Type.Optional(Type.String({ format: "date-time" })),
    created_before: Type.Optional(Type.String({ format: "date-time" })),
    ...ListParams,
  },
  { additionalProperties: false },
);
export type FlowRunListQuery = Static<typeof FlowRunListQuerySchema>;

export const DeploymentListQuerySchema = Type.Object(
  {
    work_pool: Type.Optional(Ref()),
    flow_name: Type.Optional(Ref()),
    name: Type.Optional(Ref()),
    search: Type.Optional(
      Type.String({ maxLength: 200, description: "Words that must each appear (any case) in the flow name, the deployment name, the pool or a tag" }),
    ),
    ...ListParams,
  },
  { additionalProperties: false },
);
export type DeploymentListQuery = Static<typeof DeploymentListQuerySchema>;

export const SetStateSchema = Type.Object(
  {
    type: StateTypeSchema,
    name: Type.Optional(StateNameSchema),
    message: Type.Optional(Nullable(Type.String({ maxLength: 20000 }))),
    result: Type.Optional(Type.Unknown({ description: "The flow's return value, with COMPLETED" })),
    source_commit: Type.Optional(Type.String({ pattern: "^[0-9a-fA-F]{7,40}$", description: "With RUNNING: the commit the engine fetched, kept on the run (a re-run fetches it again)" })),
  },
  { additionalProperties: false },
);
export type SetState = Static<typeof SetStateSchema>;

export const LogInputSchema = Type.Object(
  {
    level: Type.Optional(LogLevelSchema),
    message: Type.String({ maxLength: 100000 }),
    timestamp: Type.Optional(Type.String({ format: "date-time" })),
    source: Type.Optional(Type.String({ maxLength: 50 })),
  },
  { additionalProperties: false },
);
export type LogInput = Static<typeof LogInputSchema>;

export const MeSchema = Type.Object({
  workspace: WorkspaceSchema,
  credential: Type.Object({
    kind: Type.Union([Type.Literal("api_key"), Type.Literal("session"), Type.Literal("access_token")], {
      description: "What the caller authenticated with: an API key, a browser session, or an access token exchanged for an OIDC token",
    }),
    role: RoleSchema,
    api_key_id: Nullable(Type.String({ format: "uuid", description: "The API key's id, with kind api_key" })),
  }),
  server_version: Type.String({ description: "The server's version" }),
});
export type Me = Static<typeof MeSchema>;

const FlowRunResultSchema = Type.Object({
  flow_run: FlowRunSchema,
  created: Type.Boolean({ description: "False when an earlier run with the same idempotency key was returned" }),
});

export const ROUTES = {
  // --- workspace and keys
  getWorkspace: {
    method: "GET", path: "/api/workspace", tag: "workspace", status: 200, role: "viewer",
    summary: "The workspace of the API key, with its tier and limits",
    response: WorkspaceSchema,
  },
  getMe: {
    method: "GET", path: "/api/me", tag: "workspace", status: 200, role: "viewer",
    summary: "Who is calling: the workspace, the kind of credential and its role, and the server's version",
    response: MeSchema,
  },
  getQuota: {
    method: "GET", path: "/api/quota", tag: "workspace", status: 200, role: "viewer",
    summary: "Managed-execution usage against the workspace's limits",
    response: QuotaSchema,
  },
  getQuotaUsage: {
    method: "GET", path: "/api/quota/usage", tag: "workspace", status: 200, role: "viewer",
    summary: "Managed compute hours per day, the last `days` days (today included), oldest first",
    query: Type.Object(
      { days: Type.Optional(Type.Integer({ minimum: 1, maximum: 366, default: 30 })) },
      { additionalProperties: false },
    ),
    response: QuotaUsageSchema,
  },
  // --- browser sessions (the web UI)
  createSession: {
    method: "POST", path: "/api/sessions", public: true, tag: "sessions", status: 201,
    summary: "Sign a browser in with an API key: sets the session cookie (ferry_session) and answers the session's CSRF token",
    body: Type.Object({ api_key: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
    response: SessionSchema,
  },
  getSession: {
    method: "GET", path: "/api/session", tag: "sessions", status: 200, role: "viewer",
    summary: "The browser's session (session cookie only), with its CSRF token",
    response: SessionSchema,
  },
  deleteSession: {
    method: "DELETE", path: "/api/session", tag: "sessions", status: 200, role: "viewer",
    summary: "Sign out: ends the session on the server and clears the cookie",
    response: Deleted,
  },
  createLoginLink: {
    method: "POST", path: "/api/login-links", tag: "sessions", status: 201, role: "admin",
    summary: "A single-use link (60 s) that signs a browser in to the web UI, as `ferry ui` opens (API key only)",
    body: Type.Object(
      { path: Type.Optional(Type.String({ maxLength: 2000, description: "Where the UI opens, a local path such as /runs/<id>; default /" })) },
      { additionalProperties: false },
    ),
    response: LoginLinkSchema,
  },
  listApiKeys: {
    method: "GET", path: "/api/api-keys", tag: "workspace", status: 200, role: "admin",
    summary: "API keys of the workspace (never the keys themselves), oldest first, paged by cursor",
    query: ListQuerySchema, response: pageSchema(ApiKeySchema),
  },
  createApiKey: {
    method: "POST", path: "/api/api-keys", tag: "workspace", status: 201, role: "admin",
    summary: "Create an API key; the key is in this response only",
    body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
    response: CreatedApiKeySchema,
  },
  deleteApiKey: {
    method: "DELETE", path: "/api/api-keys/{id}", tag: "workspace", status: 200, role: "admin",
    summary: "Revoke an API key",
    params: IdParam, response: Deleted,
  },
  // --- OpenID Connect: trust policies and the token exchange
  listOidcTrustPolicies: {
    method: "GET", path: "/api/oidc-trust-policies", tag: "workspace", status: 200, role: "admin",
    summary: "The workspace's OIDC trust policies (which tokens of which issuer sign in, with which role), by name, paged by cursor",
    query: ListQuerySchema, response: pageSchema(OidcTrustPolicySchema),
  },
  createOidcTrustPolicy: {
    method: "POST", path: "/api/oidc-trust-policies", tag: "workspace", status: 201, role: "admin",
    summary: "Trust tokens of an issuer (e.g. GitHub Actions) whose claims match the conditions, with a role",
    body: OidcTrustPolicyCreateSchema, response: OidcTrustPolicySchema,
  },
  deleteOidcTrustPolicy: {
    method: "DELETE", path: "/api/oidc-trust-policies/{name}", tag: "workspace", status: 200, role: "admin",
    summary: "Delete a trust policy; access tokens it issued stop working",
    params: NameParam, response: Deleted,
  },
  exchangeOidcToken: {
    method: "POST", path: "/api/auth/oidc/token", public: true, tag: "workspace", status: 200,
    summary: "Exchange an OIDC ID token (e.g. a GitHub Actions job's) for a short-lived access token of the workspace whose trust policy it matches; any failure is the same 401",
    body: Type.Object(
      {
        token: Type.String({ minLength: 1, maxLength: 16000, description: "The ID token (a signed JWT)" }),
        workspace: Type.String({ maxLength: 100, description: "The workspace's id (GET /api/workspace answers it)" }),
      },
      { additionalProperties: false },
    ),
    response: Type.Object({
      access_token: Type.String({ description: "Send as 'Authorization: Bearer <token>'; never logged" }),
      token_type: Type.Literal("Bearer"),
      expires_at: Type.String({ format: "date-time" }),
      role: RoleSchema,
      workspace_id: Type.String(),
    }),
  },
  // --- operator
  adminCreateWorkspace: {
    method: "POST", path: "/api/admin/workspaces", tag: "admin", status: 201,
    summary: "Create a workspace and its first API key (operator token)",
    body: Type.Object(
      { name: Type.String({ minLength: 1, maxLength: 100 }), tier: Type.Optional(TierNameSchema), limits: Type.Optional(Type.Partial(TierLimitsSchema)) },
      { additionalProperties: false },
    ),
    response: Type.Object({ workspace: WorkspaceSchema, api_key: CreatedApiKeySchema }),
  },
  adminListWorkspaces: {
    method: "GET", path: "/api/admin/workspaces", tag: "admin", status: 200,
    summary: "All workspaces, oldest first, paged by cursor (operator token)",
    query: ListQuerySchema, response: pageSchema(WorkspaceSchema),
  },
  adminUpdateWorkspace: {
    method: "PATCH", path: "/api/admin/workspaces/{id}", tag: "admin", status: 200,
    summary: "Change a workspace's tier or set custom limits (operator token)",
    params: IdParam,
    body: Type.Object(
      { tier: Type.Optional(TierNameSchema), limits: Type.Optional(Nullable(Type.Partial(TierLimitsSchema))) },
      { additionalProperties: false },
    ),
    response: WorkspaceSchema,
  },
  // --- pool types
  listWorkPoolTypes: {
    method: "GET", path: "/api/work-pool-types", tag: "work-pools", status: 200, role: "viewer",
    summary: "Registered work-pool types with their default job templates",
    response: Type.Object({ items: Type.Array(ProviderInfoSchema) }),
  },
  // --- work pools
  listWorkPools: {
    method: "GET", path: "/api/work-pools", tag: "work-pools", status: 200, role: "viewer",
    summary: "Work pools of the workspace by name, paged by cursor",
    query: ListQuerySchema, response: pageSchema(WorkPoolSchema),
  },
  createWorkPool: {
    method: "POST", path: "/api/work-pools", tag: "work-pools", status: 201, role: "admin",
    summary: "Create a work pool; the template defaults to the type's",
    body: WorkPoolCreateSchema, response: WorkPoolSchema,
  },
  getWorkPool: {
    method: "GET", path: "/api/work-pools/{name}", tag: "work-pools", status: 200, role: "viewer",
    summary: "One work pool", params: NameParam, response: WorkPoolSchema,
  },
  updateWorkPool: {
    method: "PATCH", path: "/api/work-pools/{name}", tag: "work-pools", status: 200, role: "admin",
    summary: "Change a work pool (pause, resume, template, limit, credentials)",
    params: NameParam, body: WorkPoolUpdateSchema, response: WorkPoolSchema,
  },
  deleteWorkPool: {
    method: "DELETE", path: "/api/work-pools/{name}", tag: "work-pools", status: 200, role: "admin",
    summary: "Delete a work pool that has no deployments",
    params: NameParam, response: Deleted,
  },
  // --- variables and secrets
  listVariables: {
    method: "GET", path: "/api/variables", tag: "variables", status: 200, role: "viewer",
    summary: "The workspace's variables by name, with their values, paged by cursor",
    query: ListQuerySchema, response: pageSchema(VariableSchema),
  },
  getVariable: {
    method: "GET", path: "/api/variables/{name}", tag: "variables", status: 200, role: "viewer",
    summary: "One variable", params: NameParam, response: VariableSchema,
  },
  putVariable: {
    method: "PUT", path: "/api/variables/{name}", tag: "variables", status: 200, role: "deployer",
    summary: "Set a variable (made, or its value replaced); a deployment's env refers to it as {{ var.NAME }}",
    params: Type.Object({ name: VariableNameSchema }), body: VariableValueSchema, response: VariableSchema,
  },
  deleteVariable: {
    method: "DELETE", path: "/api/variables/{name}", tag: "variables", status: 200, role: "deployer",
    summary: "Delete a variable", params: NameParam, response: Deleted,
  },
  listSecrets: {
    method: "GET", path: "/api/secrets", tag: "variables", status: 200, role: "viewer",
    summary: "The workspace's secrets by name: names and times only, never values",
    query: ListQuerySchema, response: pageSchema(SecretSchema),
  },
  putSecret: {
    method: "PUT", path: "/api/secrets/{name}", tag: "variables", status: 200, role: "deployer",
    summary: "Set a secret (encrypted at rest, never returned); a deployment's env refers to it as {{ secret.NAME }}",
    params: Type.Object({ name: VariableNameSchema }), body: VariableValueSchema, response: SecretSchema,
  },
  deleteSecret: {
    method: "DELETE", path: "/api/secrets/{name}", tag: "variables", status: 200, role: "deployer",
    summary: "Delete a secret", params: NameParam, response: Deleted,
  },
  // --- credentials
  listCredentials: {
    method: "GET", path: "/api/credentials", tag: "credentials", status: 200, role: "viewer",
    summary: "Credentials of the workspace by name, secrets masked, paged by cursor",
    query: ListQuerySchema, response: pageSchema(CredentialsSchema),
  },
  createCredentials: {
    method: "POST", path: "/api/credentials", tag: "credentials", status: 201, role: "admin",
    summary: "Store credentials; secret fields are encrypted and never returned",
    body: CredentialsCreateSchema, response: CredentialsSchema,
  },
  getCredentials: {
    method: "GET", path: "/api/credentials/{name}", tag: "credentials", status: 200, role: "viewer",
    summary: "One credentials document, secrets masked", params: NameParam, response: CredentialsSchema,
  },
  deleteCredentials: {
    method: "DELETE", path: "/api/credentials/{name}", tag: "credentials", status: 200, role: "admin",
    summary: "Delete credentials no pool or deployment uses", params: NameParam, response: Deleted,
  },
  listCredentialTypes: {
    method: "GET", path: "/api/credential-types", tag: "credentials", status: 200, role: "viewer",
    summary: "Credential types, their fields and which are secret",
    response: Type.Object({
      items: Type.Array(Type.Object({ type: Type.String(), description: Type.String(), schema: JsonObject, secret_fields: Type.Array(Type.String()) })),
    }),
  },
  listSourceStores: {
    method: "GET", path: "/api/source-stores", tag: "deployments", status: 200, role: "viewer",
    summary: "The blob stores this server's plugins read deployments' code from: each URL scheme, its credentials type and the module that reads it",
    response: Type.Object({
      items: Type.Array(
        Type.Object({
          scheme: Type.String({ description: "s3, gs or azblob (an account's blob URL)" }),
          credentials_type: Type.String(),
          module: Type.String({ description: "The provider's module that reads and writes the store (the engine and `ferry deploy --upload` import it)" }),
        }),
      ),
    }),
  },
  // --- deployments
  listDeployments: {
    method: "GET", path: "/api/deployments", tag: "deployments", status: 200, role: "viewer",
    summary: "Deployments by flow name and name, optionally filtered or searched, paged by cursor",
    query: DeploymentListQuerySchema, response: pageSchema(DeploymentSchema),
  },
  applyDeployment: {
    method: "PUT", path: "/api/deployments", tag: "deployments", status: 200, role: "deployer",
    summary: "Create or update the deployment named by flow_name and name; applying the same content twice changes nothing",
    body: DeploymentApplySchema, response: DeploymentApplyResultSchema,
  },
  getDeployment: {
    method: "GET", path: "/api/deployments/{id}", runToken: true, tag: "deployments", status: 200, role: "viewer",
    summary: "One deployment", params: IdParam, response: DeploymentSchema,
  },
  deleteDeployment: {
    method: "DELETE", path: "/api/deployments/{id}", tag: "deployments", status: 200, role: "deployer",
    summary: "Delete a deployment (its runs are kept)", params: IdParam, response: Deleted,
  },
  listDeploymentSchedules: {
    method: "GET", path: "/api/deployments/{id}/schedules", tag: "deployments", status: 200, role: "viewer",
    summary: "A deployment's schedules, each with its next times",
    params: IdParam, response: DeploymentSchedulesSchema,
  },
  addDeploymentSchedule: {
    method: "POST", path: "/api/deployments/{id}/schedules", tag: "deployments", status: 201, role: "deployer",
    summary: "Add a schedule (cron with a time zone, interval or RRULE) to a deployment",
    params: IdParam, body: ScheduleCreateSchema, response: DeploymentSchema,
  },
  updateDeploymentSchedule: {
    method: "PATCH", path: "/api/deployments/{id}/schedules/{schedule}", tag: "deployments", status: 200, role: "deployer",
    summary: "Pause (active: false) or resume a schedule; pausing deletes its runs scheduled ahead that have not started",
    params: Type.Object({ id: Type.String(), schedule: Type.String({ description: "The schedule's id, or a unique prefix of it" }) }),
    body: Type.Object({ active: Type.Boolean() }, { additionalProperties: false }),
    response: DeploymentSchema,
  },
  deleteDeploymentSchedule: {
    method: "DELETE", path: "/api/deployments/{id}/schedules/{schedule}", tag: "deployments", status: 200, role: "deployer",
    summary: "Remove a schedule; its runs scheduled ahead that have not started are deleted",
    params: Type.Object({ id: Type.String(), schedule: Type.String({ description: "The schedule's id, or a unique prefix of it" }) }), response: DeploymentSchema,
  },
  createFlowRun: {
    method: "POST", path: "/api/deployments/{id}/runs", tag: "flow-runs", status: 201, role: "runner",
    summary: "Run a deployment; push pools submit it at once",
    params: IdParam, body: FlowRunCreateSchema, response: FlowRunResultSchema,
  },
  // --- flow runs
  listFlowRuns: {
    method: "GET", path: "/api/flow-runs", tag: "flow-runs", status: 200, role: "viewer",
    summary: "Flow runs, newest first, filtered and paged by cursor",
    query: FlowRunListQuerySchema, response: pageSchema(FlowRunSchema),
  },
  getFlowRun: {
    method: "GET", path: "/api/flow-runs/{id}", runToken: true, tag: "flow-runs", status: 200, role: "viewer",
    summary: "One flow run", params: IdParam, response: FlowRunSchema,
  },
  getFlowRunHistory: {
    method: "GET", path: "/api/flow-runs/{id}/history", tag: "flow-runs", status: 200, role: "viewer",
    summary: "Every state the run went through, oldest first",
    params: IdParam, response: Type.Object({ items: Type.Array(StateHistoryEntrySchema) }),
  },
  setFlowRunState: {
    method: "POST", path: "/api/flow-runs/{id}/state", runToken: true, tag: "flow-runs", status: 200, role: "admin",
    summary: "Move a run to a new state; illegal transitions are refused",
    params: IdParam, body: SetStateSchema, response: FlowRunSchema,
  },
  cancelFlowRun: {
    method: "POST", path: "/api/flow-runs/{id}/cancel", tag: "flow-runs", status: 200, role: "runner",
    summary: "Cancel a run: at once if it was never submitted, else through CANCELLING",
    params: IdParam,
    body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
    response: FlowRunSchema,
  },
  retryFlowRun: {
    method: "POST", path: "/api/flow-runs/{id}/retry", tag: "flow-runs", status: 201, role: "runner",
    summary: "Re-run a finished run as a new run of its deployment, with the same parameters, job variables and source commit",
    params: IdParam, response: FlowRunResultSchema,
  },
  getFlowRunEnv: {
    method: "GET", path: "/api/flow-runs/{id}/env", runToken: true, tag: "flow-runs", status: 200, role: "admin",
    summary: "The run's env with its {{ secret.NAME }} and {{ var.NAME }} references resolved, and which values to mask (run tokens only)",
    params: IdParam,
    response: Type.Object({
      env: Type.Record(Type.String(), Type.String(), { description: "Only the variables that had references, resolved. Never logged" }),
      masked: Type.Array(Type.String(), { description: "Values the engine masks in the run's logs: the secrets' values" }),
    }),
  },
  getFlowRunSource: {
    method: "GET", path: "/api/flow-runs/{id}/source", runToken: true, tag: "flow-runs", status: 200, role: "admin",
    summary: "Where the run's code comes from, with the git token when the source has credentials (run tokens only)",
    params: IdParam,
    response: Type.Object({
      git_url: Type.String(),
      branch: Nullable(Type.String()),
      commit: Nullable(Type.String()),
      username: Nullable(Type.String()),
      token: Nullable(Type.String({ description: "Never logged: the engine hands it to git and masks it in output" })),
      blob: Type.Optional(
        Nullable(
          Type.Object({
            module: Type.String({ description: "The provider's engine-side module that reads this store (the engine imports it)" }),
            credentials: Nullable(Type.Record(Type.String(), Type.String(), { description: "The source's credentials block, secrets included: never logged, masked in output" })),
            secret_fields: Type.Array(Type.String(), { description: "Which of the credentials' fields are secret: the engine masks their values" }),
          }),
        ),
      ),
    }),
  },
  listFlowRunLogs: {
    method: "GET", path: "/api/flow-runs/{id}/logs", tag: "flow-runs", status: 200, role: "viewer",
    summary: "A run's log lines in order, paged by cursor",
    params: IdParam,
    query: Type.Object({ limit: Limit, cursor: Cursor }, { additionalProperties: false }),
    response: pageSchema(LogLineSchema),
  },
  exchangeRunBootstrapToken: {
    method: "POST", path: "/api/run-tokens", public: true, tag: "flow-runs", status: 200,
    summary: "Exchange a run's single-use bootstrap token (given to its infrastructure) for its run token; a second exchange is refused",
    body: Type.Object({ bootstrap_token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
    response: Type.Object({
      run_token: Type.String({ description: "Never logged: the engine's credential for this run until it ends" }),
      flow_run_id: Type.String(),
      expires_at: Type.String({ format: "date-time" }),
    }),
  },
  writeFlowRunLogs: {
    method: "POST", path: "/api/flow-runs/{id}/logs", runToken: true, tag: "flow-runs", status: 201, role: "admin",
    summary: "Append log lines to a run (at most 1000 a call)",
    params: IdParam,
    body: Type.Object({ logs: Type.Array(LogInputSchema, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
    response: Type.Object({ written: Type.Integer() }),
  },
} as const satisfies Record<string, RouteDef>;

export type Routes = typeof ROUTES;
export type RouteName = keyof Routes;

type SchemaOf<R, F extends PropertyKey> = F extends keyof R ? R[F] : undefined;
type StaticOf<S> = S extends TSchema ? Static<S> : undefined;

/** What a call of route K takes: path params and body when it has them, an optional query. */
export type RouteInput<K extends RouteName> = (SchemaOf<Routes[K], "params"> extends TSchema
  ? { params: StaticOf<SchemaOf<Routes[K], "params">> }
  : { params?: undefined }) &
  (SchemaOf<Routes[K], "query"> extends TSchema ? { query?: Partial<StaticOf<SchemaOf<Routes[K], "query">>> } : { query?: undefined }) &
  (SchemaOf<Routes[K], "body"> extends TSchema ? { body: StaticOf<SchemaOf<Routes[K], "body">> } : { body?: undefined });

export type RouteOutput<K extends RouteName> = StaticOf<Routes[K]["response"]>;

/** The server-sent-events stream of a run; not JSON, so it sits beside the table. */
export const FLOW_RUN_EVENTS_PATH = "/api/flow-runs/{id}/events";

/** The workspace's stream: `event: run` with the FlowRun whenever one is created or changes state. */
export const WORKSPACE_EVENTS_PATH = "/api/events";

/** Where a browser signs in with a login link (not under /api: it answers a redirect, not JSON). */
export const LOGIN_LINK_PATH = "/auth/login";

export function routePath(path: string, params: Record<string, unknown> | undefined): string {
  return path.replace(/\{(\w+)\}/g, (_m, key: string) => {
    const value = params?.[key];
    if (value === undefined || value === null || value === "") throw new Error(`missing path parameter '${key}'`);
    const text = String(value);
    // fetch resolves dot segments, which would send the call to another route.
    if (text === "." || text === "..") throw new Error(`path parameter '${key}' cannot be '${text}'`);
    return encodeURIComponent(text);
  });
}
