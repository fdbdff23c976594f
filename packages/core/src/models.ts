import { Type, type Static, type TSchema, type TUnsafe } from "@sinclair/typebox";
import { STATE_NAMES, STATE_TYPES, type StateName } from "./states.js";
import type { BaseJobTemplate } from "./job-template.js";
import { TIER_NAMES } from "./tiers.js";

/**
 * The domain's wire shapes, as JSON Schemas (TypeBox), so one definition gives the TypeScript type,
 * the server's validation and the OpenAPI document. Field names are snake_case, like job variables and
 * `ferry.yaml`, so a value reads the same in YAML, JSON and code.
 */

/**
 * `T` or null, as a list of types (`"type": ["integer", "null"]`) rather than `anyOf`: the server's
 * validator coerces types (query strings arrive as text), and coercion inside `anyOf` turned a JSON null
 * into 0 or "" before the null branch was tried (`{"concurrency_limit": null}` set a limit of 0).
 */
export const Nullable = <T extends TSchema>(schema: T): TUnsafe<Static<T> | null> => {
  // A plain copy: the type list is not one of TypeBox's own kinds.
  const plain = JSON.parse(JSON.stringify(schema)) as { type?: unknown };
  if (typeof plain.type !== "string") return Type.Unsafe<Static<T> | null>(Type.Union([schema, Type.Null()]));
  return Type.Unsafe<Static<T> | null>({ ...plain, type: [plain.type, "null"] });
};
const Timestamp = Type.String({ format: "date-time" });
const Id = Type.String({ format: "uuid" });
const Name = Type.String({ minLength: 1, maxLength: 63, pattern: "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$" });
const JsonObject = Type.Record(Type.String(), Type.Unknown());

export const StateTypeSchema = Type.Union(STATE_TYPES.map((s) => Type.Literal(s)));
export const StateNameSchema = Type.Union((Object.keys(STATE_NAMES) as StateName[]).map((s) => Type.Literal(s)));
export const TierNameSchema = Type.Union(TIER_NAMES.map((t) => Type.Literal(t)));

export const TierLimitsSchema = Type.Object({
  managed_pools: Type.Number(),
  concurrent_managed_runs: Type.Number(),
  compute_hours_per_month: Type.Number(),
  memory_mib: Type.Number(),
  max_runtime_seconds: Type.Number(),
  cpus: Type.Number(),
});

export const WorkspaceSchema = Type.Object({
  id: Id,
  name: Type.String(),
  tier: TierNameSchema,
  limits: TierLimitsSchema,
  limits_override: Type.Partial(TierLimitsSchema),
  created_at: Timestamp,
});
export type Workspace = Static<typeof WorkspaceSchema>;

export const ApiKeySchema = Type.Object({
  id: Id,
  name: Type.String(),
  /** The first characters of the key, enough to tell keys apart in a list; never the whole key. */
  prefix: Type.String(),
  created_at: Timestamp,
  last_used_at: Nullable(Timestamp),
});
export type ApiKey = Static<typeof ApiKeySchema>;

export const CreatedApiKeySchema = Type.Composite([
  ApiKeySchema,
  Type.Object({ key: Type.String({ description: "The key itself. Shown once: store it now." }), workspace_id: Id }),
]);
export type CreatedApiKey = Static<typeof CreatedApiKeySchema>;

export const BaseJobTemplateSchema = Type.Unsafe<BaseJobTemplate>(
  Type.Object({ variables: JsonObject, job_configuration: JsonObject }),
);

export const WorkPoolSchema = Type.Object({
  id: Id,
  name: Name,
  type: Type.String(),
  description: Nullable(Type.String()),
  base_job_template: BaseJobTemplateSchema,
  concurrency_limit: Nullable(Type.Integer({ minimum: 0 })),
  paused: Type.Boolean(),
  credentials: Nullable(Type.String({ description: "Name of the credentials the pool's provider uses" })),
  active_runs: Type.Integer({
    minimum: 0,
    description: "Runs of the pool holding a concurrency slot (PENDING, RUNNING, CANCELLING): in use, against concurrency_limit",
  }),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type WorkPool = Static<typeof WorkPoolSchema>;

export const CredentialsSchema = Type.Object({
  id: Id,
  name: Name,
  type: Type.String(),
  /** The document with secret fields masked. */
  data: JsonObject,
  secret_fields: Type.Array(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Credentials = Static<typeof CredentialsSchema>;

/** A variable's or secret's name, as a deployment's env refers to it (`{{ var.NAME }}`, `{{ secret.NAME }}`). */
export const VariableNameSchema = Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z_][A-Za-z0-9_-]*$" });

export const VariableSchema = Type.Object({
  name: VariableNameSchema,
  value: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Variable = Static<typeof VariableSchema>;

/** A secret as the API shows it: its name and times, never its value. */
export const SecretSchema = Type.Object({
  name: VariableNameSchema,
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Secret = Static<typeof SecretSchema>;

export const DeploymentSourceSchema = Type.Object({
  git_url: Type.String({
    minLength: 1,
    maxLength: 2000,
    description: "The code's git URL, or a blob store's prefix (or .tar.gz object): s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX",
  }),
  branch: Type.Optional(Nullable(Type.String({ maxLength: 250 }))),
  commit: Type.Optional(Nullable(Type.String({ pattern: "^[0-9a-fA-F]{7,40}$" }))),
  credentials: Type.Optional(Nullable(Type.String({ maxLength: 200, description: "Name of the credentials that read the source: git credentials for a private repository, or the blob store's type of credentials" }))),
});
export type DeploymentSource = Static<typeof DeploymentSourceSchema>;

/** A pull step, as in `ferry.yaml`: one key naming the step, with its options. */
export const PullStepSchema = Type.Record(Type.String(), Type.Unknown(), { minProperties: 1, maxProperties: 1 });
export type PullStep = Static<typeof PullStepSchema>;

/** A deployment's schedule: exactly one of cron, interval or rrule (checked by core's validateSchedule). */
export const ScheduleSpecSchema = Type.Object(
  {
    cron: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "Cron expression, e.g. '0 9 * * 1-5', read in timezone" })),
    interval: Type.Optional(Type.Integer({ minimum: 10, maximum: 31_622_400, description: "Seconds between runs, counted from anchor_date" })),
    anchor_date: Type.Optional(Type.String({ format: "date-time", description: "Where an interval counts from; an RRULE's start when it has no DTSTART" })),
    rrule: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: "An RFC 5545 RRULE, e.g. 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9', read in timezone" })),
    timezone: Type.Optional(Type.String({ maxLength: 100, description: "An IANA time zone (default UTC)" })),
  },
  { additionalProperties: false },
);
export const DeploymentScheduleSchema = Type.Composite([
  Type.Object({ id: Type.String(), active: Type.Boolean({ description: "A paused schedule (false) creates no runs" }) }),
  ScheduleSpecSchema,
]);
export const CatchupPolicySchema = Type.Union([Type.Literal("skip"), Type.Literal("catch_up")], {
  description: "Times missed while no server ran: skip them, or create the latest catchup_max_runs (they start at once)",
});
export const CollisionStrategySchema = Type.Union([Type.Literal("enqueue"), Type.Literal("cancel_new")], {
  description: "A run that finds concurrency_limit reached: waits (enqueue) or is cancelled (cancel_new)",
});

/** A deployment's retry policy, also a run's (fixed when it is created); see core's `retryAfterEnd`. */
export function RetryFields() {
  return {
    retries: Type.Integer({ minimum: 0, maximum: 10, description: "Further attempts of a FAILED run (a new attempt of the same run, after retry_delay_seconds)" }),
    retry_delay_seconds: Type.Integer({ minimum: 0, maximum: 86_400, description: "Seconds between an attempt's end and the next attempt" }),
    retry_on_crash: Type.Boolean({ description: "Retry CRASHED attempts too (the infrastructure failed); CANCELLED never is" }),
  };
}

export const DeploymentSchema = Type.Object({
  id: Id,
  flow_name: Type.String(),
  name: Type.String(),
  work_pool: Name,
  source: DeploymentSourceSchema,
  entrypoint: Type.String(),
  job_variables: JsonObject,
  parameters: JsonObject,
  parameter_schema: Nullable(JsonObject),
  pull_steps: Nullable(Type.Array(PullStepSchema)),
  tags: Type.Array(Type.String()),
  description: Nullable(Type.String()),
  paused: Type.Boolean(),
  schedules: Type.Array(DeploymentScheduleSchema),
  catchup_policy: CatchupPolicySchema,
  catchup_max_runs: Type.Integer({ minimum: 0 }),
  concurrency_limit: Nullable(Type.Integer({ minimum: 1 })),
  collision_strategy: CollisionStrategySchema,
  late_after_seconds: Type.Integer({ minimum: 0, description: "A run not started this long after its expected start is Late" }),
  ...RetryFields(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Deployment = Static<typeof DeploymentSchema>;

export const StateSchema = Type.Object({
  type: StateTypeSchema,
  name: StateNameSchema,
  message: Nullable(Type.String()),
  timestamp: Timestamp,
});
export type State = Static<typeof StateSchema>;

export const StateHistoryEntrySchema = Type.Composite([StateSchema, Type.Object({ id: Type.String() })]);
export type StateHistoryEntry = Static<typeof StateHistoryEntrySchema>;

export const FlowRunSchema = Type.Object({
  id: Id,
  name: Type.String(),
  deployment_id: Id,
  deployment_name: Type.String(),
  flow_name: Type.String(),
  work_pool: Type.String(),
  work_pool_type: Type.String(),
  state: StateSchema,
  parameters: JsonObject,
  job_variables: JsonObject,
  job_configuration: Nullable(JsonObject),
  infrastructure_id: Nullable(Type.String()),
  idempotency_key: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  expected_start_time: Nullable(Timestamp),
  start_time: Nullable(Timestamp),
  end_time: Nullable(Timestamp),
  compute_seconds: Type.Number(),
  ...RetryFields(),
  attempt: Type.Integer({ minimum: 1, description: "The current attempt (1 the first); each retry of the run adds one, its history keeps every attempt" }),
  next_attempt_at: Nullable(Type.String({ format: "date-time", description: "While AwaitingRetry: when the next attempt may start" })),
  source_commit: Nullable(Type.String({ description: "The commit the run's code is fetched at: the deployment's pinned commit, or the one a re-run's original ran" })),
  rerun_of: Nullable(Type.String({ format: "uuid", description: "The run this one re-runs ('ferry flow-run retry'), with its parameters and source commit" })),
  /** The flow function's return value (JSON), once COMPLETED. */
  result: Type.Optional(Type.Unknown()),
});
export type FlowRun = Static<typeof FlowRunSchema>;

export const LOG_LEVELS = ["debug", "info", "warning", "error", "critical"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LogLevelSchema = Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)));

export const LogLineSchema = Type.Object({
  id: Type.String({ description: "Position in the run's event stream; later lines have larger ids" }),
  flow_run_id: Id,
  level: LogLevelSchema,
  message: Type.String(),
  timestamp: Timestamp,
  source: Type.String({ description: "'flow' for the flow's own output, 'ferry' for the control plane, or the infrastructure's name" }),
});
export type LogLine = Static<typeof LogLineSchema>;

export const QuotaSchema = Type.Object({
  tier: TierNameSchema,
  limits: TierLimitsSchema,
  period_start: Timestamp,
  usage: Type.Object({
    managed_pools: Type.Integer(),
    concurrent_managed_runs: Type.Integer(),
    queued_managed_runs: Type.Integer(),
    compute_seconds: Type.Number(),
  }),
});
export type Quota = Static<typeof QuotaSchema>;

export const QuotaUsageSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      date: Type.String({ format: "date", description: "A UTC day, YYYY-MM-DD" }),
      compute_hours: Type.Number({ description: "Managed compute of the workspace's runs that started that day" }),
    }),
    { description: "One item per day, oldest first, days without compute included" },
  ),
});
export type QuotaUsage = Static<typeof QuotaUsageSchema>;

/** A browser's sign-in: the cookie carries the session's token, never this body. */
export const SessionSchema = Type.Object({
  workspace: WorkspaceSchema,
  csrf_token: Type.String({ description: "Send as the x-csrf-token header with every POST, PUT, PATCH and DELETE made with the session cookie" }),
  expires_at: Timestamp,
});
export type Session = Static<typeof SessionSchema>;

export const LoginLinkSchema = Type.Object({
  url: Type.String({ description: "Opens the web UI signed in; single use, valid 60 seconds. Never log it." }),
  expires_at: Timestamp,
});
export type LoginLink = Static<typeof LoginLinkSchema>;

export const ProviderInfoSchema = Type.Object({
  type: Type.String(),
  description: Type.String(),
  managed: Type.Boolean(),
  credentials_type: Nullable(Type.String()),
  plugin: Nullable(
    Type.String({ description: "The provider plugin module that brings the type (clients load its './client' export for provisioning); null when built in" }),
  ),
  default_base_job_template: BaseJobTemplateSchema,
});
export type ProviderInfo = Static<typeof ProviderInfoSchema>;

/** One event of a run's stream: a state change or a log line, in the order they happened. */
export type FlowRunEvent =
  | { kind: "state"; id: string; flow_run_id: string; state: StateHistoryEntry }
  | { kind: "log"; id: string; flow_run_id: string; log: LogLine };

export function pageSchema<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    next_cursor: Nullable(Type.String({ description: "Pass as `cursor` for the next page; null on the last page" })),
    total: Type.Optional(
      Type.Integer({ minimum: 0, description: "With include_total=true: how many items the list has (every page, the filters applied)" }),
    ),
    total_is_estimate: Type.Optional(
      Type.Boolean({ description: `With include_total=true: true when total is the planner's estimate (past ${LIST_TOTAL_EXACT_MAX} items), not a count` }),
    ),
  });
}
/** Up to this many items a list's total is counted exactly; beyond it, estimated (and said so). */
export const LIST_TOTAL_EXACT_MAX = 10_000;
export interface ListTotal {
  total: number;
  total_is_estimate: boolean;
}
export interface Page<T> extends Partial<ListTotal> {
  items: T[];
  next_cursor: string | null;
}
