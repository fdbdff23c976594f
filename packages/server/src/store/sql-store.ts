import { AsyncLocalStorage } from "node:async_hooks";
import {
  type AdmissionDeployment,
  FerryError,
  notFound,
  validationError,
  type ApiKeyRecord,
  type CredentialsRecord,
  type DeploymentFilter,
  type DeploymentRecord,
  type FlowRunEvent,
  type FlowRunFields,
  type FlowRunFilter,
  type FlowRunRecord,
  type ListTotal,
  type LogLevel,
  type PageRequest,
  type LogLine,
  type ManagedUsage,
  type NewFlowRun,
  type NewLogLine,
  type QueuedFlowRunFilter,
  type RunBootstrapTokenRecord,
  type LoginLinkRecord,
  type SessionRecord,
  type AccessTokenRecord,
  type OidcTrustPolicyRecord,
  type SecretRecord,
  type VariableRecord,
  type StateChange,
  type StateHistoryEntry,
  type StateName,
  type StateType,
  type Store,
  type StoreTx,
  type TierLimits,
  type TierName,
  type UnfinishedFlowRunFilter,
  type WorkPoolRecord,
  type WorkspaceRecord,
  isUuid,
  storableText,
} from "@ferry/core";
import type { SqlDriver, SqlExecutor, SqlResult } from "./driver.js";
import { listTotal, searchWords, type ListSql } from "./list-queries.js";
import { migrate } from "./migrations.js";
import { planMaintenance, readTableActivity, runMaintenance } from "./maintenance.js";
import * as schedules from "./schedules.js";
import { claimableBy, claimFlowRun, renewServerLease } from "./server-leases.js";
import * as oidc from "./oidc-trust.js";
import * as named from "./variables.js";
import { toFerryError } from "./sql-errors.js";

/**
 * The store on PostgreSQL or PGlite: same SQL, one code path. It persists and queries; callers apply
 * core's rules inside `transaction` after locking what they decide on.
 *
 * Conventions: every statement is parameterised; ids are `uuid` columns (an id that is not a UUID
 * cannot match and reads as "not found"); timestamps are `timestamptz` and come back as ISO-8601 UTC;
 * unique-name conflicts use `ON CONFLICT DO NOTHING` and become a `conflict` FerryError without
 * aborting the caller's transaction.
 */

const UNFINISHED = "('SCHEDULED', 'PENDING', 'RUNNING', 'CANCELLING')";
const EVENT_ID_PATTERN = /^\d{1,19}$/;
const CHANNEL_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

// --- row shapes and their mapping to records

interface WorkspaceRow {
  id: string;
  name: string;
  tier: TierName;
  limits_override: Partial<TierLimits>;
  created_at: Date;
}
const WORKSPACE_COLUMNS = "id, name, tier, limits_override, created_at";
const toWorkspace = (r: WorkspaceRow): WorkspaceRecord => ({
  id: r.id,
  name: r.name,
  tier: r.tier,
  limits_override: r.limits_override,
  created_at: iso(r.created_at),
});

interface ApiKeyRow {
  id: string;
  workspace_id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
}
const API_KEY_COLUMNS = "id, workspace_id, name, prefix, created_at, last_used_at";
const toApiKey = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  workspace_id: r.workspace_id,
  name: r.name,
  prefix: r.prefix,
  created_at: iso(r.created_at),
  last_used_at: isoOrNull(r.last_used_at),
});

interface WorkPoolRow {
  id: string;
  workspace_id: string;
  name: string;
  type: string;
  description: string | null;
  base_job_template: WorkPoolRecord["base_job_template"];
  concurrency_limit: number | null;
  paused: boolean;
  credentials: string | null;
  created_at: Date;
  updated_at: Date;
  template_hash: string;
}
const WORK_POOL_COLUMNS =
  "id, workspace_id, name, type, description, base_job_template, concurrency_limit, paused, credentials, created_at, updated_at, template_hash";
const toWorkPool = (r: WorkPoolRow): WorkPoolRecord => ({
  id: r.id,
  workspace_id: r.workspace_id,
  name: r.name,
  type: r.type,
  description: r.description,
  base_job_template: r.base_job_template,
  concurrency_limit: r.concurrency_limit,
  paused: r.paused,
  credentials: r.credentials,
  created_at: iso(r.created_at),
  updated_at: iso(r.updated_at),
  // With the pool's id: two pools never share compiled schemas, whatever their templates' hashes.
  template_key: `${r.id}:${r.template_hash}`,
});

interface CredentialsRow {
  id: string;
  workspace_id: string;
  name: string;
  type: string;
  plain_data: Record<string, unknown>;
  secret_ciphertext: string;
  created_at: Date;
  updated_at: Date;
}
const CREDENTIALS_COLUMNS = "id, workspace_id, name, type, plain_data, secret_ciphertext, created_at, updated_at";
const toCredentials = (r: CredentialsRow): CredentialsRecord => ({
  id: r.id,
  workspace_id: r.workspace_id,
  name: r.name,
  type: r.type,
  plain_data: r.plain_data,
  secret_ciphertext: r.secret_ciphertext,
  created_at: iso(r.created_at),
  updated_at: iso(r.updated_at),
});

interface DeploymentRow {
  id: string;
  workspace_id: string;
  flow_name: string;
  name: string;
  work_pool_id: string;
  work_pool: string;
  source: DeploymentRecord["source"];
  entrypoint: string;
  job_variables: Record<string, unknown>;
  parameters: Record<string, unknown>;
  parameter_schema: Record<string, unknown> | null;
  pull_steps: DeploymentRecord["pull_steps"];
  tags: string[];
  description: string | null;
  paused: boolean;
  schedules: DeploymentRecord["schedules"];
  catchup_policy: DeploymentRecord["catchup_policy"];
  catchup_max_runs: number;
  concurrency_limit: number | null;
  collision_strategy: DeploymentRecord["collision_strategy"];
  late_after_seconds: number;
  retries: number;
  retry_delay_seconds: number;
  retry_on_crash: boolean;
  schedules_checked_at: Date | null;
  created_at: Date;
  updated_at: Date;
  parameter_schema_hash: string | null;
}
/** Over `deployments d JOIN work_pools p`: the pool's name is read, never copied. */
const DEPLOYMENT_COLUMNS =
  "d.id, d.workspace_id, d.flow_name, d.name, d.work_pool_id, p.name AS work_pool, d.source, d.entrypoint, d.job_variables, " +
  "d.parameters, d.parameter_schema, d.pull_steps, d.tags, d.description, d.paused, d.created_at, d.updated_at, d.parameter_schema_hash, " +
  "d.schedules, d.catchup_policy, d.catchup_max_runs, d.concurrency_limit, d.collision_strategy, d.late_after_seconds, d.schedules_checked_at, " +
  "d.retries, d.retry_delay_seconds, d.retry_on_crash";
const toDeployment = (r: DeploymentRow): DeploymentRecord => ({
  id: r.id,
  workspace_id: r.workspace_id,
  flow_name: r.flow_name,
  name: r.name,
  work_pool_id: r.work_pool_id,
  work_pool: r.work_pool,
  source: r.source,
  entrypoint: r.entrypoint,
  job_variables: r.job_variables,
  parameters: r.parameters,
  parameter_schema: r.parameter_schema,
  pull_steps: r.pull_steps,
  tags: r.tags,
  description: r.description,
  paused: r.paused,
  schedules: r.schedules,
  catchup_policy: r.catchup_policy,
  catchup_max_runs: r.catchup_max_runs,
  concurrency_limit: r.concurrency_limit,
  collision_strategy: r.collision_strategy,
  late_after_seconds: r.late_after_seconds,
  retries: r.retries,
  retry_delay_seconds: r.retry_delay_seconds,
  retry_on_crash: r.retry_on_crash,
  schedules_checked_at: isoOrNull(r.schedules_checked_at),
  created_at: iso(r.created_at),
  updated_at: iso(r.updated_at),
  parameter_schema_key: r.parameter_schema_hash === null ? null : `${r.id}:${r.parameter_schema_hash}`,
});

interface FlowRunRow {
  id: string;
  workspace_id: string;
  name: string;
  deployment_id: string;
  deployment_name: string;
  flow_name: string;
  work_pool_id: string;
  work_pool: string;
  work_pool_type: string;
  state_type: StateType;
  state_name: StateName;
  state_message: string | null;
  state_timestamp: Date;
  parameters: Record<string, unknown>;
  job_variables: Record<string, unknown>;
  job_configuration: Record<string, unknown> | null;
  infrastructure_id: string | null;
  idempotency_key: string | null;
  tags: string[];
  created_at: Date;
  updated_at: Date;
  expected_start_time: Date | null;
  start_time: Date | null;
  end_time: Date | null;
  compute_seconds: number;
  result: unknown;
  retries: number;
  retry_delay_seconds: number;
  retry_on_crash: boolean;
  attempt: number;
  next_attempt_at: Date | null;
  source_commit: string | null;
  rerun_of: string | null;
}
const FLOW_RUN_COLUMN_NAMES = [
  "id",
  "workspace_id",
  "name",
  "deployment_id",
  "deployment_name",
  "flow_name",
  "work_pool_id",
  "work_pool",
  "work_pool_type",
  "state_type",
  "state_name",
  "state_message",
  "state_timestamp",
  "parameters",
  "job_variables",
  "job_configuration",
  "infrastructure_id",
  "idempotency_key",
  "tags",
  "created_at",
  "updated_at",
  "expected_start_time",
  "start_time",
  "end_time",
  "compute_seconds",
  "result",
  "retries",
  "retry_delay_seconds",
  "retry_on_crash",
  "attempt",
  "next_attempt_at",
  "source_commit",
  "rerun_of",
] as const;
const FLOW_RUN_COLUMNS = FLOW_RUN_COLUMN_NAMES.join(", ");
const toFlowRun = (r: FlowRunRow): FlowRunRecord => ({
  id: r.id,
  workspace_id: r.workspace_id,
  name: r.name,
  deployment_id: r.deployment_id,
  deployment_name: r.deployment_name,
  flow_name: r.flow_name,
  work_pool_id: r.work_pool_id,
  work_pool: r.work_pool,
  work_pool_type: r.work_pool_type,
  state: { type: r.state_type, name: r.state_name, message: r.state_message, timestamp: iso(r.state_timestamp) },
  parameters: r.parameters,
  job_variables: r.job_variables,
  job_configuration: r.job_configuration,
  infrastructure_id: r.infrastructure_id,
  idempotency_key: r.idempotency_key,
  tags: r.tags,
  created_at: iso(r.created_at),
  updated_at: iso(r.updated_at),
  expected_start_time: isoOrNull(r.expected_start_time),
  start_time: isoOrNull(r.start_time),
  end_time: isoOrNull(r.end_time),
  compute_seconds: r.compute_seconds,
  retries: r.retries,
  retry_delay_seconds: r.retry_delay_seconds,
  retry_on_crash: r.retry_on_crash,
  attempt: r.attempt,
  next_attempt_at: isoOrNull(r.next_attempt_at),
  source_commit: r.source_commit,
  rerun_of: r.rerun_of,
  result: r.result ?? null,
});

interface StateRow {
  id: string;
  type: StateType;
  name: StateName;
  message: string | null;
  timestamp: Date;
}
const toStateEntry = (r: StateRow): StateHistoryEntry => ({
  id: r.id,
  type: r.type,
  name: r.name,
  message: r.message,
  timestamp: iso(r.timestamp),
});

interface LogRow {
  id: string;
  flow_run_id: string;
  level: LogLevel;
  message: string;
  timestamp: Date;
  source: string;
}
const toLogLine = (r: LogRow): LogLine => ({
  id: r.id,
  flow_run_id: r.flow_run_id,
  level: r.level,
  message: r.message,
  timestamp: iso(r.timestamp),
  source: r.source,
});

// --- the store

/**
 * Every method of the contract, over one executor: the driver itself (each statement on its own) or
 * an open transaction.
 */
export class SqlStoreTx implements StoreTx {
  constructor(
    protected readonly db: SqlExecutor,
    private readonly inTransaction: boolean,
  ) {}

  // --- workspaces and keys

  async createWorkspace(input: { id: string; name: string; tier: TierName; limits_override: Partial<TierLimits> }): Promise<WorkspaceRecord> {
    const { rows } = await this.db.query<WorkspaceRow>(
      `INSERT INTO workspaces (id, name, tier, limits_override) VALUES ($1, $2, $3, $4::jsonb) RETURNING ${WORKSPACE_COLUMNS}`,
      [input.id, input.name, input.tier, json(input.limits_override)],
    );
    return toWorkspace(first(rows));
  }

  async getWorkspace(id: string): Promise<WorkspaceRecord | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.db.query<WorkspaceRow>(`SELECT ${WORKSPACE_COLUMNS} FROM workspaces WHERE id = $1`, [id]);
    return rows[0] ? toWorkspace(rows[0]) : null;
  }

  async listWorkspaces(page?: PageRequest<string>): Promise<WorkspaceRecord[]> {
    // Ids are time-ordered (UUIDv7): by id is oldest first, on the primary key.
    const params = new Params();
    const where = page?.after === undefined ? "" : `WHERE id > ${params.add(uuidCursor(page.after))}::uuid`;
    const { rows } = await this.db.query<WorkspaceRow>(
      `SELECT ${WORKSPACE_COLUMNS} FROM workspaces ${where} ORDER BY id${pageLimit(page, params)}`,
      params.values,
    );
    return rows.map(toWorkspace);
  }

  async totalWorkspaces(): Promise<ListTotal> {
    return listTotal(this.db, { from: "workspaces", where: [], values: [] });
  }

  async updateWorkspace(id: string, patch: { tier?: TierName; limits_override?: Partial<TierLimits> }): Promise<WorkspaceRecord | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.db.query<WorkspaceRow>(
      `UPDATE workspaces SET tier = coalesce($2, tier), limits_override = coalesce($3::jsonb, limits_override)
       WHERE id = $1 RETURNING ${WORKSPACE_COLUMNS}`,
      [id, patch.tier ?? null, patch.limits_override === undefined ? null : json(patch.limits_override)],
    );
    return rows[0] ? toWorkspace(rows[0]) : null;
  }

  async lockWorkspace(id: string): Promise<WorkspaceRecord | null> {
    this.requireTransaction("lockWorkspace");
    if (!isUuid(id)) return null;
    // NO KEY UPDATE: serialises quota decisions without blocking inserts whose foreign key checks
    // take a key-share lock on the workspace row.
    const { rows } = await this.db.query<WorkspaceRow>(`SELECT ${WORKSPACE_COLUMNS} FROM workspaces WHERE id = $1 FOR NO KEY UPDATE`, [id]);
    return rows[0] ? toWorkspace(rows[0]) : null;
  }

  async countWorkspaces(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>("SELECT count(*)::int AS n FROM workspaces");
    return first(rows).n;
  }

  async insertApiKey(input: { id: string; workspace_id: string; name: string; prefix: string; hash: string }): Promise<ApiKeyRecord> {
    const { rows } = await this.db.query<ApiKeyRow>(
      `INSERT INTO api_keys (id, workspace_id, name, prefix, hash) VALUES ($1, $2, $3, $4, $5) RETURNING ${API_KEY_COLUMNS}`,
      [input.id, input.workspace_id, input.name, input.prefix, input.hash],
    );
    return toApiKey(first(rows));
  }

  async findApiKeyByHash(hash: string): Promise<{ key: ApiKeyRecord; workspace: WorkspaceRecord } | null> {
    const { rows } = await this.db.query<ApiKeyRow & { ws_name: string; ws_tier: TierName; ws_limits_override: Partial<TierLimits>; ws_created_at: Date }>(
      `SELECT k.id, k.workspace_id, k.name, k.prefix, k.created_at, k.last_used_at,
              w.name AS ws_name, w.tier AS ws_tier, w.limits_override AS ws_limits_override, w.created_at AS ws_created_at
       FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id WHERE k.hash = $1`,
      [hash],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      key: toApiKey(r),
      workspace: toWorkspace({ id: r.workspace_id, name: r.ws_name, tier: r.ws_tier, limits_override: r.ws_limits_override, created_at: r.ws_created_at }),
    };
  }

  async listApiKeys(workspaceId: string, page?: PageRequest<string>): Promise<ApiKeyRecord[]> {
    if (!isUuid(workspaceId)) return [];
    const params = new Params([workspaceId]);
    const after = page?.after === undefined ? "" : ` AND id > ${params.add(uuidCursor(page.after))}::uuid`;
    const { rows } = await this.db.query<ApiKeyRow>(
      `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE workspace_id = $1${after} ORDER BY id${pageLimit(page, params)}`,
      params.values,
    );
    return rows.map(toApiKey);
  }

  async totalApiKeys(workspaceId: string): Promise<ListTotal> {
    if (!isUuid(workspaceId)) return NONE;
    return listTotal(this.db, { from: "api_keys", where: ["workspace_id = $1"], values: [workspaceId] });
  }

  async deleteApiKey(workspaceId: string, id: string): Promise<boolean> {
    if (!isUuid(workspaceId) || !isUuid(id)) return false;
    const { rowCount } = await this.db.query("DELETE FROM api_keys WHERE workspace_id = $1 AND id = $2", [workspaceId, id]);
    return rowCount > 0;
  }

  async touchApiKey(id: string, at: string): Promise<void> {
    if (!isUuid(id)) return;
    // Never moves backwards, and skips the write when nothing changes.
    await this.db.query("UPDATE api_keys SET last_used_at = $2::timestamptz WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz)", [
      id,
      at,
    ]);
  }

  // --- browser sessions and login links

  async insertSession(input: SessionRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO sessions (hash, workspace_id, api_key_id, csrf_token, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz)`,
      [input.hash, input.workspace_id, input.api_key_id, input.csrf_token, isoInput(input.created_at, "created_at"), isoInput(input.expires_at, "expires_at")],
    );
  }

  async findSession(hash: string, now: string): Promise<{ session: SessionRecord; workspace: WorkspaceRecord } | null> {
    const { rows } = await this.db.query<{
      hash: string; workspace_id: string; api_key_id: string; csrf_token: string; created_at: Date; expires_at: Date;
      ws_name: string; ws_tier: TierName; ws_limits_override: Partial<TierLimits>; ws_created_at: Date;
    }>(
      `SELECT s.hash, s.workspace_id, s.api_key_id, s.csrf_token, s.created_at, s.expires_at,
              w.name AS ws_name, w.tier AS ws_tier, w.limits_override AS ws_limits_override, w.created_at AS ws_created_at
       FROM sessions s JOIN workspaces w ON w.id = s.workspace_id
       WHERE s.hash = $1 AND s.expires_at > $2::timestamptz`,
      [hash, isoInput(now, "now")],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      session: { hash: r.hash, workspace_id: r.workspace_id, api_key_id: r.api_key_id, csrf_token: r.csrf_token, created_at: iso(r.created_at), expires_at: iso(r.expires_at) },
      workspace: toWorkspace({ id: r.workspace_id, name: r.ws_name, tier: r.ws_tier, limits_override: r.ws_limits_override, created_at: r.ws_created_at }),
    };
  }

  async deleteSession(hash: string): Promise<boolean> {
    const { rowCount } = await this.db.query("DELETE FROM sessions WHERE hash = $1", [hash]);
    return rowCount > 0;
  }

  async insertLoginLink(input: LoginLinkRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO login_links (hash, workspace_id, api_key_id, path, expires_at) VALUES ($1, $2, $3, $4, $5::timestamptz)`,
      [input.hash, input.workspace_id, input.api_key_id, input.path, isoInput(input.expires_at, "expires_at")],
    );
  }

  async claimLoginLink(hash: string, now: string): Promise<LoginLinkRecord | null> {
    const { rows } = await this.db.query<{ hash: string; workspace_id: string; api_key_id: string; path: string; expires_at: Date }>(
      `UPDATE login_links SET used_at = $2::timestamptz
       WHERE hash = $1 AND used_at IS NULL AND expires_at > $2::timestamptz
       RETURNING hash, workspace_id, api_key_id, path, expires_at`,
      [hash, isoInput(now, "now")],
    );
    const r = rows[0];
    return r ? { hash: r.hash, workspace_id: r.workspace_id, api_key_id: r.api_key_id, path: r.path, expires_at: iso(r.expires_at) } : null;
  }

  async deleteExpiredSessions(now: string): Promise<{ sessions: number; login_links: number }> {
    const at = isoInput(now, "now");
    const sessions = await this.db.query("DELETE FROM sessions WHERE expires_at <= $1::timestamptz", [at]);
    const links = await this.db.query("DELETE FROM login_links WHERE expires_at <= $1::timestamptz", [at]);
    return { sessions: sessions.rowCount, login_links: links.rowCount };
  }

  // --- variables and secrets (variables.ts)

  putVariable(workspaceId: string, name: string, value: string): Promise<VariableRecord> {
    return named.putNamedValue(this.db, "variables", uuidInput(workspaceId, "workspace id"), name, value);
  }

  getVariables(workspaceId: string, names: readonly string[]): Promise<VariableRecord[]> {
    return named.getNamedValues(this.db, "variables", workspaceId, names);
  }

  listVariables(workspaceId: string, page?: PageRequest<string>): Promise<VariableRecord[]> {
    return named.listNamedValues(this.db, "variables", workspaceId, page);
  }

  totalVariables(workspaceId: string): Promise<ListTotal> {
    return named.totalNamedValues(this.db, "variables", workspaceId);
  }

  deleteVariable(workspaceId: string, name: string): Promise<boolean> {
    return named.deleteNamedValue(this.db, "variables", workspaceId, name);
  }

  putSecret(workspaceId: string, name: string, ciphertext: string): Promise<SecretRecord> {
    return named.putNamedValue(this.db, "secrets", uuidInput(workspaceId, "workspace id"), name, ciphertext);
  }

  getSecrets(workspaceId: string, names: readonly string[]): Promise<SecretRecord[]> {
    return named.getNamedValues(this.db, "secrets", workspaceId, names);
  }

  listSecrets(workspaceId: string, page?: PageRequest<string>): Promise<SecretRecord[]> {
    return named.listNamedValues(this.db, "secrets", workspaceId, page);
  }

  totalSecrets(workspaceId: string): Promise<ListTotal> {
    return named.totalNamedValues(this.db, "secrets", workspaceId);
  }

  deleteSecret(workspaceId: string, name: string): Promise<boolean> {
    return named.deleteNamedValue(this.db, "secrets", workspaceId, name);
  }

  // --- OIDC trust policies and access tokens (oidc-trust.ts)

  insertOidcTrustPolicy(input: Omit<OidcTrustPolicyRecord, "created_at">): Promise<OidcTrustPolicyRecord> {
    return oidc.insertOidcTrustPolicy(this.db, { ...input, id: uuidInput(input.id, "policy id"), workspace_id: uuidInput(input.workspace_id, "workspace id") });
  }

  listOidcTrustPolicies(workspaceId: string, page?: PageRequest<string>): Promise<OidcTrustPolicyRecord[]> {
    return oidc.listOidcTrustPolicies(this.db, workspaceId, page);
  }

  totalOidcTrustPolicies(workspaceId: string): Promise<ListTotal> {
    return oidc.totalOidcTrustPolicies(this.db, workspaceId);
  }

  deleteOidcTrustPolicy(workspaceId: string, name: string): Promise<boolean> {
    return oidc.deleteOidcTrustPolicy(this.db, workspaceId, name);
  }

  insertAccessToken(input: AccessTokenRecord): Promise<void> {
    return oidc.insertAccessToken(this.db, input);
  }

  findAccessToken(hash: string, now: string): Promise<{ token: AccessTokenRecord; workspace: WorkspaceRecord } | null> {
    return oidc.findAccessToken(this.db, hash, isoInput(now, "now"));
  }

  deleteExpiredAccessTokens(now: string): Promise<number> {
    return oidc.deleteExpiredAccessTokens(this.db, isoInput(now, "now"));
  }

  // --- what a run's engine authenticates with

  async getRunTokenSubject(flowRunId: string): Promise<{ stateType: StateType; workspace: WorkspaceRecord } | null> {
    if (!isUuid(flowRunId)) return null;
    const { rows } = await this.db.query<WorkspaceRow & { state_type: StateType }>(
      `SELECT r.state_type, w.id, w.name, w.tier, w.limits_override, w.created_at
       FROM flow_runs r JOIN workspaces w ON w.id = r.workspace_id WHERE r.id = $1`,
      [flowRunId],
    );
    const r = rows[0];
    return r ? { stateType: r.state_type, workspace: toWorkspace(r) } : null;
  }

  async insertRunBootstrapToken(input: RunBootstrapTokenRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO run_bootstrap_tokens (hash, flow_run_id, workspace_id, expires_at, run_token_expires_at)
       VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz)`,
      [input.hash, input.flow_run_id, input.workspace_id, input.expires_at, input.run_token_expires_at],
    );
  }

  async claimRunBootstrapToken(hash: string, now: string): Promise<{ outcome: "claimed" | "used" | "expired"; token: RunBootstrapTokenRecord } | null> {
    const columns = "hash, flow_run_id, workspace_id, expires_at, run_token_expires_at";
    type Row = { hash: string; flow_run_id: string; workspace_id: string; expires_at: Date; run_token_expires_at: Date; used_at?: Date | null };
    const toRecord = (r: Row): RunBootstrapTokenRecord => ({
      hash: r.hash, flow_run_id: r.flow_run_id, workspace_id: r.workspace_id, expires_at: iso(r.expires_at), run_token_expires_at: iso(r.run_token_expires_at),
    });
    const claimed = await this.db.query<Row>(
      `UPDATE run_bootstrap_tokens SET used_at = $2::timestamptz
       WHERE hash = $1 AND used_at IS NULL AND expires_at > $2::timestamptz RETURNING ${columns}`,
      [hash, now],
    );
    if (claimed.rows[0]) return { outcome: "claimed", token: toRecord(claimed.rows[0]) };
    const { rows } = await this.db.query<Row>(`SELECT ${columns}, used_at FROM run_bootstrap_tokens WHERE hash = $1`, [hash]);
    const r = rows[0];
    if (!r) return null;
    return { outcome: r.used_at ? "used" : "expired", token: toRecord(r) };
  }

  // --- work pools

  async insertWorkPool(input: Omit<WorkPoolRecord, "created_at" | "updated_at">): Promise<WorkPoolRecord> {
    const { rows } = await this.db.query<WorkPoolRow>(
      `INSERT INTO work_pools (id, workspace_id, name, type, description, base_job_template, concurrency_limit, paused, credentials)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)
       ON CONFLICT (workspace_id, name) DO NOTHING
       RETURNING ${WORK_POOL_COLUMNS}`,
      [
        input.id,
        input.workspace_id,
        input.name,
        input.type,
        input.description,
        json(input.base_job_template),
        input.concurrency_limit,
        input.paused,
        input.credentials,
      ],
    );
    if (!rows[0]) throw alreadyExists("work pool", input.name, "pick another name, or update the existing pool");
    return toWorkPool(rows[0]);
  }

  async getWorkPool(workspaceId: string, name: string): Promise<WorkPoolRecord | null> {
    if (!isUuid(workspaceId)) return null;
    const { rows } = await this.db.query<WorkPoolRow>(`SELECT ${WORK_POOL_COLUMNS} FROM work_pools WHERE workspace_id = $1 AND name = $2`, [
      workspaceId,
      name,
    ]);
    return rows[0] ? toWorkPool(rows[0]) : null;
  }

  async getWorkPoolById(workspaceId: string, id: string): Promise<WorkPoolRecord | null> {
    if (!isUuid(workspaceId) || !isUuid(id)) return null;
    const { rows } = await this.db.query<WorkPoolRow>(`SELECT ${WORK_POOL_COLUMNS} FROM work_pools WHERE workspace_id = $1 AND id = $2`, [
      workspaceId,
      id,
    ]);
    return rows[0] ? toWorkPool(rows[0]) : null;
  }

  async listWorkPools(workspaceId: string, page?: PageRequest<string>): Promise<WorkPoolRecord[]> {
    if (!isUuid(workspaceId)) return [];
    const params = new Params([workspaceId]);
    const after = page?.after === undefined ? "" : ` AND name > ${params.add(page.after)}`;
    const { rows } = await this.db.query<WorkPoolRow>(
      `SELECT ${WORK_POOL_COLUMNS} FROM work_pools WHERE workspace_id = $1${after} ORDER BY name${pageLimit(page, params)}`,
      params.values,
    );
    return rows.map(toWorkPool);
  }

  async totalWorkPools(workspaceId: string): Promise<ListTotal> {
    if (!isUuid(workspaceId)) return NONE;
    return listTotal(this.db, { from: "work_pools", where: ["workspace_id = $1"], values: [workspaceId] });
  }

  async updateWorkPool(
    workspaceId: string,
    name: string,
    patch: Partial<Pick<WorkPoolRecord, "description" | "base_job_template" | "concurrency_limit" | "paused" | "credentials">>,
  ): Promise<WorkPoolRecord | null> {
    if (!isUuid(workspaceId)) return null;
    const params = new Params([workspaceId, name]);
    const sets = ["updated_at = now()"];
    if (patch.description !== undefined) sets.push(`description = ${params.add(patch.description)}`);
    if (patch.base_job_template !== undefined) sets.push(`base_job_template = ${params.add(json(patch.base_job_template))}::jsonb`);
    if (patch.concurrency_limit !== undefined) sets.push(`concurrency_limit = ${params.add(patch.concurrency_limit)}::int`);
    if (patch.paused !== undefined) sets.push(`paused = ${params.add(patch.paused)}::boolean`);
    if (patch.credentials !== undefined) sets.push(`credentials = ${params.add(patch.credentials)}`);
    const { rows } = await this.db.query<WorkPoolRow>(
      `UPDATE work_pools SET ${sets.join(", ")} WHERE workspace_id = $1 AND name = $2 RETURNING ${WORK_POOL_COLUMNS}`,
      params.values,
    );
    return rows[0] ? toWorkPool(rows[0]) : null;
  }

  async deleteWorkPool(workspaceId: string, name: string): Promise<boolean> {
    if (!isUuid(workspaceId)) return false;
    // Checks for deployments in the same statement, so the common refusal does not abort the caller's
    // transaction; the foreign key still stops a deployment created concurrently.
    const { rows } = await this.db.query<{ deleted: boolean; deployments: number; found: boolean }>(
      `WITH pool AS (SELECT id FROM work_pools WHERE workspace_id = $1 AND name = $2),
            used AS (SELECT count(*)::int AS n FROM deployments WHERE work_pool_id = (SELECT id FROM pool)),
            gone AS (DELETE FROM work_pools WHERE id = (SELECT id FROM pool) AND (SELECT n FROM used) = 0 RETURNING id)
       SELECT EXISTS (SELECT 1 FROM gone) AS deleted, (SELECT n FROM used) AS deployments, EXISTS (SELECT 1 FROM pool) AS found`,
      [workspaceId, name],
    );
    const r = first(rows);
    if (r.deleted) return true;
    if (!r.found) return false;
    throw new FerryError(
      "conflict",
      `work pool '${name}' is used by ${r.deployments} deployment${r.deployments === 1 ? "" : "s"}; ` +
        `delete them (ferry deployment delete FLOW/NAME) or move them to another pool first`,
      { details: { deployments: r.deployments } },
    );
  }

  // --- credentials

  async insertCredentials(input: Omit<CredentialsRecord, "created_at" | "updated_at">): Promise<CredentialsRecord> {
    const { rows } = await this.db.query<CredentialsRow>(
      `INSERT INTO credentials (id, workspace_id, name, type, plain_data, secret_ciphertext) VALUES ($1, $2, $3, $4, $5::jsonb, $6)
       ON CONFLICT (workspace_id, name) DO NOTHING
       RETURNING ${CREDENTIALS_COLUMNS}`,
      [input.id, input.workspace_id, input.name, input.type, json(input.plain_data), input.secret_ciphertext],
    );
    if (!rows[0]) throw alreadyExists("credentials", input.name, "pick another name, or replace the existing credentials");
    return toCredentials(rows[0]);
  }

  async replaceCredentials(
    workspaceId: string,
    name: string,
    input: Pick<CredentialsRecord, "type" | "plain_data" | "secret_ciphertext">,
  ): Promise<CredentialsRecord | null> {
    if (!isUuid(workspaceId)) return null;
    const { rows } = await this.db.query<CredentialsRow>(
      `UPDATE credentials SET type = $3, plain_data = $4::jsonb, secret_ciphertext = $5, updated_at = now()
       WHERE workspace_id = $1 AND name = $2 RETURNING ${CREDENTIALS_COLUMNS}`,
      [workspaceId, name, input.type, json(input.plain_data), input.secret_ciphertext],
    );
    return rows[0] ? toCredentials(rows[0]) : null;
  }

  async getCredentials(workspaceId: string, name: string): Promise<CredentialsRecord | null> {
    if (!isUuid(workspaceId)) return null;
    const { rows } = await this.db.query<CredentialsRow>(`SELECT ${CREDENTIALS_COLUMNS} FROM credentials WHERE workspace_id = $1 AND name = $2`, [
      workspaceId,
      name,
    ]);
    return rows[0] ? toCredentials(rows[0]) : null;
  }

  async listCredentials(workspaceId: string, page?: PageRequest<string>): Promise<CredentialsRecord[]> {
    if (!isUuid(workspaceId)) return [];
    const params = new Params([workspaceId]);
    const after = page?.after === undefined ? "" : ` AND name > ${params.add(page.after)}`;
    const { rows } = await this.db.query<CredentialsRow>(
      `SELECT ${CREDENTIALS_COLUMNS} FROM credentials WHERE workspace_id = $1${after} ORDER BY name${pageLimit(page, params)}`,
      params.values,
    );
    return rows.map(toCredentials);
  }

  async totalCredentials(workspaceId: string): Promise<ListTotal> {
    if (!isUuid(workspaceId)) return NONE;
    return listTotal(this.db, { from: "credentials", where: ["workspace_id = $1"], values: [workspaceId] });
  }

  async deleteCredentials(workspaceId: string, name: string): Promise<boolean> {
    if (!isUuid(workspaceId)) return false;
    const { rowCount } = await this.db.query("DELETE FROM credentials WHERE workspace_id = $1 AND name = $2", [workspaceId, name]);
    return rowCount > 0;
  }

  async credentialsUsage(workspaceId: string, name: string): Promise<{ work_pools: string[]; deployments: string[] }> {
    if (!isUuid(workspaceId)) return { work_pools: [], deployments: [] };
    const { rows } = await this.db.query<{ kind: "pool" | "deployment"; ref: string }>(
      `SELECT 'pool' AS kind, name AS ref FROM work_pools WHERE workspace_id = $1 AND credentials = $2
       UNION ALL
       SELECT 'deployment', flow_name || '/' || name FROM deployments WHERE workspace_id = $1 AND source->>'credentials' = $2
       ORDER BY 1, 2`,
      [workspaceId, name],
    );
    return {
      work_pools: rows.filter((r) => r.kind === "pool").map((r) => r.ref),
      deployments: rows.filter((r) => r.kind === "deployment").map((r) => r.ref),
    };
  }

  // --- deployments

  async insertDeployment(input: Omit<DeploymentRecord, "created_at" | "updated_at">): Promise<DeploymentRecord> {
    const { rows } = await this.db.query<DeploymentRow>(
      `WITH d AS (
         INSERT INTO deployments (id, workspace_id, flow_name, name, work_pool_id, source, entrypoint, job_variables, parameters,
                                  parameter_schema, pull_steps, tags, description, paused, schedules, catchup_policy, catchup_max_runs,
                                  concurrency_limit, collision_strategy, late_after_seconds, retries, retry_delay_seconds, retry_on_crash)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, $9::jsonb, $10::jsonb, $11::jsonb, $12::jsonb, $13, $14, $15::jsonb, $16, $17, $18, $19, $20,
                 $21, $22, $23)
         ON CONFLICT (workspace_id, flow_name, name) DO NOTHING
         RETURNING *
       )
       SELECT ${DEPLOYMENT_COLUMNS} FROM d JOIN work_pools p ON p.id = d.work_pool_id`,
      [input.id, input.workspace_id, input.flow_name, input.name, input.work_pool_id, ...deploymentValues(input)],
    );
    if (!rows[0]) throw alreadyExists("deployment", `${input.flow_name}/${input.name}`, "pick another name, or update the existing deployment");
    return toDeployment(rows[0]);
  }

  async updateDeployment(
    workspaceId: string,
    id: string,
    input: Omit<DeploymentRecord, "id" | "workspace_id" | "created_at" | "updated_at">,
  ): Promise<DeploymentRecord | null> {
    if (!isUuid(workspaceId) || !isUuid(id)) return null;
    // A rename onto another deployment's name is refused here rather than by the unique index, which
    // would abort the caller's transaction.
    const { rows } = await this.db.query<Partial<DeploymentRow> & { taken: boolean }>(
      `WITH taken AS (
         SELECT EXISTS (SELECT 1 FROM deployments WHERE workspace_id = $1 AND id = $2)
            AND EXISTS (SELECT 1 FROM deployments WHERE workspace_id = $1 AND flow_name = $3 AND name = $4 AND id <> $2) AS taken
       ), d AS (
         UPDATE deployments SET flow_name = $3, name = $4, work_pool_id = $5, source = $6::jsonb, entrypoint = $7, job_variables = $8::jsonb,
           parameters = $9::jsonb, parameter_schema = $10::jsonb, pull_steps = $11::jsonb, tags = $12::jsonb, description = $13, paused = $14,
           schedules = $15::jsonb, catchup_policy = $16, catchup_max_runs = $17, concurrency_limit = $18, collision_strategy = $19,
           late_after_seconds = $20, retries = $21, retry_delay_seconds = $22, retry_on_crash = $23, updated_at = now()
         WHERE workspace_id = $1 AND id = $2 AND NOT (SELECT taken FROM taken)
         RETURNING *
       )
       SELECT (SELECT taken FROM taken) AS taken, ${DEPLOYMENT_COLUMNS}
       FROM (SELECT 1) AS one LEFT JOIN (d JOIN work_pools p ON p.id = d.work_pool_id) ON true`,
      [workspaceId, id, input.flow_name, input.name, input.work_pool_id, ...deploymentValues(input)],
    );
    const r = first(rows);
    if (r.taken) throw alreadyExists("deployment", `${input.flow_name}/${input.name}`, "pick another name");
    return r.id ? toDeployment(r as DeploymentRow) : null;
  }

  async getDeployment(workspaceId: string, id: string): Promise<DeploymentRecord | null> {
    if (!isUuid(workspaceId) || !isUuid(id)) return null;
    const { rows } = await this.db.query<DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d JOIN work_pools p ON p.id = d.work_pool_id WHERE d.workspace_id = $1 AND d.id = $2`,
      [workspaceId, id],
    );
    return rows[0] ? toDeployment(rows[0]) : null;
  }

  async getDeploymentAndPool(workspaceId: string, id: string): Promise<{ deployment: DeploymentRecord; pool: WorkPoolRecord } | null> {
    if (!isUuid(workspaceId) || !isUuid(id)) return null;
    const poolColumns = WORK_POOL_COLUMNS.split(", ").map((c) => `p.${c} AS pool_${c}`).join(", ");
    const { rows } = await this.db.query<DeploymentRow & Record<string, unknown>>(
      `SELECT ${DEPLOYMENT_COLUMNS}, ${poolColumns} FROM deployments d JOIN work_pools p ON p.id = d.work_pool_id
       WHERE d.workspace_id = $1 AND d.id = $2`,
      [workspaceId, id],
    );
    const r = rows[0];
    if (!r) return null;
    const poolRow = Object.fromEntries(WORK_POOL_COLUMNS.split(", ").map((c) => [c, r[`pool_${c}`]])) as unknown as WorkPoolRow;
    return { deployment: toDeployment(r), pool: toWorkPool(poolRow) };
  }

  async getDeploymentByName(workspaceId: string, flowName: string, name: string): Promise<DeploymentRecord | null> {
    if (!isUuid(workspaceId)) return null;
    const { rows } = await this.db.query<DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments d JOIN work_pools p ON p.id = d.work_pool_id
       WHERE d.workspace_id = $1 AND d.flow_name = $2 AND d.name = $3`,
      [workspaceId, flowName, name],
    );
    return rows[0] ? toDeployment(rows[0]) : null;
  }

  async listDeployments(
    workspaceId: string,
    filter: DeploymentFilter,
    page?: PageRequest<{ flow_name: string; name: string }>,
  ): Promise<DeploymentRecord[]> {
    if (!isUuid(workspaceId)) return [];
    const list = deploymentListSql(workspaceId, filter);
    const params = new Params(list.values);
    const where = [...list.where];
    if (page?.after !== undefined) {
      where.push(`(d.flow_name, d.name) > (${params.add(page.after.flow_name)}, ${params.add(page.after.name)})`);
    }
    const { rows } = await this.db.query<DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM ${list.from} WHERE ${where.join(" AND ")} ORDER BY d.flow_name, d.name${pageLimit(page, params)}`,
      params.values,
    );
    return rows.map(toDeployment);
  }

  async totalDeployments(workspaceId: string, filter: DeploymentFilter): Promise<ListTotal> {
    if (!isUuid(workspaceId)) return NONE;
    return listTotal(this.db, deploymentListSql(workspaceId, filter));
  }

  async deleteDeployment(workspaceId: string, id: string): Promise<boolean> {
    if (!isUuid(workspaceId) || !isUuid(id)) return false;
    const { rowCount } = await this.db.query("DELETE FROM deployments WHERE workspace_id = $1 AND id = $2", [workspaceId, id]);
    return rowCount > 0;
  }

  // --- flow runs

  async insertFlowRun(input: NewFlowRun): Promise<FlowRunRecord> {
    // The hot path: one round trip inserts the run and its first history entry, and returns only the
    // id; the record is built from the input, which is what was stored.
    const createdAt = isoInput(input.created_at, "created_at");
    const { rows } = await this.db.query<{ id: string }>(
      `WITH r AS (
         INSERT INTO flow_runs (id, workspace_id, name, deployment_id, deployment_name, flow_name, work_pool_id, work_pool, work_pool_type,
                                state_type, state_name, state_message, state_timestamp, parameters, job_variables, job_configuration,
                                idempotency_key, tags, created_at, updated_at, owner_id, expected_start_time,
                                retries, retry_delay_seconds, retry_on_crash, source_commit, rerun_of)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::timestamptz, $14::jsonb, $15::jsonb, $16::jsonb, $17, $18::jsonb,
                 $13::timestamptz, $13::timestamptz, $20::uuid, $21::timestamptz, $22, $23, $24, $25, $26::uuid)
         ON CONFLICT (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING id, state_type, state_name, state_message, state_timestamp
       ), h AS (
         INSERT INTO flow_run_states (flow_run_id, type, name, message, timestamp)
         SELECT r.id, s.type, s.name, s.message, r.state_timestamp
         FROM r CROSS JOIN ROWS FROM (jsonb_to_recordset($19::jsonb) AS (type text, name text, message text)) WITH ORDINALITY AS s(type, name, message, ord)
         ORDER BY s.ord
       )
       SELECT id FROM r`,
      [
        input.id,
        input.workspace_id,
        input.name,
        input.deployment_id,
        input.deployment_name,
        input.flow_name,
        input.work_pool_id,
        input.work_pool,
        input.work_pool_type,
        input.state.type,
        input.state.name,
        input.state.message,
        createdAt,
        json(input.parameters),
        json(input.job_variables),
        input.job_configuration === null ? null : json(input.job_configuration),
        input.idempotency_key,
        json(input.tags),
        json([...(input.prior_states ?? []), input.state].map((st) => ({ type: st.type, name: st.name, message: st.message }))),
        input.owner_id ? uuidInput(input.owner_id, "owner_id") : null,
        input.expected_start_time ? isoInput(input.expected_start_time, "expected_start_time") : null,
        input.retries ?? 0,
        input.retry_delay_seconds ?? 0,
        input.retry_on_crash ?? false,
        input.source_commit ?? null,
        input.rerun_of ? uuidInput(input.rerun_of, "rerun_of") : null,
      ],
    );
    if (!rows[0]) {
      throw new FerryError(
        "conflict",
        `flow run with idempotency key '${input.idempotency_key}' already exists; fetch that run instead, or use another key`,
        { details: { idempotency_key: input.idempotency_key } },
      );
    }
    return {
      id: input.id,
      workspace_id: input.workspace_id,
      name: input.name,
      deployment_id: input.deployment_id,
      deployment_name: input.deployment_name,
      flow_name: input.flow_name,
      work_pool_id: input.work_pool_id,
      work_pool: input.work_pool,
      work_pool_type: input.work_pool_type,
      state: { type: input.state.type, name: input.state.name, message: input.state.message, timestamp: createdAt },
      parameters: input.parameters,
      job_variables: input.job_variables,
      job_configuration: input.job_configuration,
      infrastructure_id: null,
      idempotency_key: input.idempotency_key,
      tags: input.tags,
      created_at: createdAt,
      updated_at: createdAt,
      expected_start_time: input.expected_start_time ? isoInput(input.expected_start_time, "expected_start_time") : null,
      start_time: null,
      end_time: null,
      compute_seconds: 0,
      retries: input.retries ?? 0,
      retry_delay_seconds: input.retry_delay_seconds ?? 0,
      retry_on_crash: input.retry_on_crash ?? false,
      attempt: 1,
      next_attempt_at: null,
      source_commit: input.source_commit ?? null,
      rerun_of: input.rerun_of ?? null,
      result: null,
    };
  }

  async insertFlowRuns(inputs: readonly NewFlowRun[]): Promise<number> {
    if (!inputs.length) return 0;
    // One statement for the whole batch: the rows travel as one JSON array (one parameter, whatever the
    // batch's size), and each run's history entries follow it in input order, as insertFlowRun writes them.
    const rows = inputs.map((input) => ({
      id: uuidInput(input.id, "id"),
      workspace_id: uuidInput(input.workspace_id, "workspace_id"),
      name: input.name,
      deployment_id: uuidInput(input.deployment_id, "deployment_id"),
      deployment_name: input.deployment_name,
      flow_name: input.flow_name,
      work_pool_id: uuidInput(input.work_pool_id, "work_pool_id"),
      work_pool: input.work_pool,
      work_pool_type: input.work_pool_type,
      state_type: input.state.type,
      state_name: input.state.name,
      state_message: input.state.message,
      created_at: isoInput(input.created_at, "created_at"),
      parameters: input.parameters,
      job_variables: input.job_variables,
      job_configuration: input.job_configuration,
      idempotency_key: input.idempotency_key,
      tags: input.tags,
      states: [...(input.prior_states ?? []), input.state].map((st) => ({ type: st.type, name: st.name, message: st.message })),
      expected_start_time: input.expected_start_time ? isoInput(input.expected_start_time, "expected_start_time") : null,
      retries: input.retries ?? 0,
      retry_delay_seconds: input.retry_delay_seconds ?? 0,
      retry_on_crash: input.retry_on_crash ?? false,
      source_commit: input.source_commit ?? null,
      rerun_of: input.rerun_of ? uuidInput(input.rerun_of, "rerun_of") : null,
    }));
    const { rows: result } = await this.db.query<{ n: number }>(
      `WITH input AS (
         SELECT * FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (
           id uuid, workspace_id uuid, name text, deployment_id uuid, deployment_name text, flow_name text, work_pool_id uuid, work_pool text,
           work_pool_type text, state_type text, state_name text, state_message text, created_at timestamptz, parameters jsonb,
           job_variables jsonb, job_configuration jsonb, idempotency_key text, tags jsonb, states jsonb, expected_start_time timestamptz,
           retries integer, retry_delay_seconds integer, retry_on_crash boolean, source_commit text, rerun_of uuid
         )) WITH ORDINALITY AS i
       ), r AS (
         INSERT INTO flow_runs (id, workspace_id, name, deployment_id, deployment_name, flow_name, work_pool_id, work_pool, work_pool_type,
                                state_type, state_name, state_message, state_timestamp, parameters, job_variables, job_configuration,
                                idempotency_key, tags, created_at, updated_at, expected_start_time,
                                retries, retry_delay_seconds, retry_on_crash, source_commit, rerun_of)
         SELECT id, workspace_id, name, deployment_id, deployment_name, flow_name, work_pool_id, work_pool, work_pool_type,
                state_type, state_name, state_message, created_at, parameters, job_variables, NULLIF(job_configuration, 'null'::jsonb),
                idempotency_key, tags, created_at, created_at, expected_start_time,
                retries, retry_delay_seconds, retry_on_crash, source_commit, rerun_of
         FROM input ORDER BY ordinality
         -- No conflict target: a run whose idempotency key is taken (a schedule time that has its run) is left out.
         ON CONFLICT DO NOTHING
         RETURNING id, state_timestamp
       ), h AS (
         INSERT INTO flow_run_states (flow_run_id, type, name, message, timestamp)
         SELECT r.id, s.type, s.name, s.message, r.state_timestamp
         FROM r JOIN input ON input.id = r.id
         CROSS JOIN ROWS FROM (jsonb_to_recordset(input.states) AS (type text, name text, message text)) WITH ORDINALITY AS s(type, name, message, ord)
         ORDER BY input.ordinality, s.ord
       )
       SELECT count(*)::int AS n FROM r`,
      [json(rows)],
    );
    return Number(result[0]?.n ?? 0);
  }

  async getFlowRun(workspaceId: string, id: string): Promise<FlowRunRecord | null> {
    if (!isUuid(workspaceId) || !isUuid(id)) return null;
    const { rows } = await this.db.query<FlowRunRow>(`SELECT ${FLOW_RUN_COLUMNS} FROM flow_runs WHERE id = $1 AND workspace_id = $2`, [id, workspaceId]);
    return rows[0] ? toFlowRun(rows[0]) : null;
  }

  async getFlowRuns(workspaceId: string, ids: string[]): Promise<FlowRunRecord[]> {
    const valid = ids.filter(isUuid);
    if (!isUuid(workspaceId) || valid.length === 0) return [];
    const { rows } = await this.db.query<FlowRunRow>(
      `SELECT ${FLOW_RUN_COLUMNS} FROM flow_runs WHERE id = ANY($1::uuid[]) AND workspace_id = $2`,
      [valid, workspaceId],
    );
    return rows.map(toFlowRun);
  }

  async getFlowRunForSystem(id: string): Promise<FlowRunRecord | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.db.query<FlowRunRow>(`SELECT ${FLOW_RUN_COLUMNS} FROM flow_runs WHERE id = $1`, [id]);
    return rows[0] ? toFlowRun(rows[0]) : null;
  }

  async setFlowRunState(
    id: string,
    state: StateChange & { timestamp: string },
    fields: FlowRunFields = {},
  ): Promise<{ run: FlowRunRecord; entry: StateHistoryEntry }> {
    if (!isUuid(id)) throw notFound("flow run", id);
    const params = new Params([id, state.type, state.name, state.message, isoInput(state.timestamp, "timestamp")]);
    const sets = ["state_type = $2", "state_name = $3", "state_message = $4", "state_timestamp = $5::timestamptz", "updated_at = now()"];
    sets.push(...flowRunFieldSets(fields, params));
    // The history row is made from the UPDATE's output, so its id is drawn after the run's row lock is
    // held: the events of one run get ids in the order their transactions commit.
    const { rows } = await this.db.query<FlowRunRow & { entry_id: string }>(
      `WITH r AS (
         UPDATE flow_runs SET ${sets.join(", ")} WHERE id = $1 RETURNING ${FLOW_RUN_COLUMNS}
       ), h AS (
         INSERT INTO flow_run_states (flow_run_id, type, name, message, timestamp)
         SELECT id, state_type, state_name, state_message, state_timestamp FROM r
         RETURNING id
       )
       SELECT r.*, h.id::text AS entry_id FROM r CROSS JOIN h`,
      params.values,
    );
    const r = rows[0];
    if (!r) throw notFound("flow run", id);
    const run = toFlowRun(r);
    return { run, entry: { id: r.entry_id, ...run.state } };
  }

  async compareAndSetFlowRunState(
    id: string,
    expected: { type: StateType; name: StateName },
    state: StateChange & { timestamp: string },
    fields: FlowRunFields = {},
  ): Promise<{ run: FlowRunRecord; entry: StateHistoryEntry } | null> {
    if (!isUuid(id)) return null;
    const params = new Params([id, state.type, state.name, state.message, isoInput(state.timestamp, "timestamp"), expected.type, expected.name]);
    const sets = ["state_type = $2", "state_name = $3", "state_message = $4", "state_timestamp = $5::timestamptz", "updated_at = now()"];
    sets.push(...flowRunFieldSets(fields, params));
    // One statement: the UPDATE takes the row lock and re-checks the state under it, so two writers
    // racing from the same state cannot both win.
    const { rows } = await this.db.query<FlowRunRow & { entry_id: string }>(
      `WITH r AS (
         UPDATE flow_runs SET ${sets.join(", ")} WHERE id = $1 AND state_type = $6 AND state_name = $7 RETURNING ${FLOW_RUN_COLUMNS}
       ), h AS (
         INSERT INTO flow_run_states (flow_run_id, type, name, message, timestamp)
         SELECT id, state_type, state_name, state_message, state_timestamp FROM r
         RETURNING id
       )
       SELECT r.*, h.id::text AS entry_id FROM r CROSS JOIN h`,
      params.values,
    );
    const r = rows[0];
    if (!r) return null;
    const run = toFlowRun(r);
    return { run, entry: { id: r.entry_id, ...run.state } };
  }

  async updateFlowRun(id: string, fields: FlowRunFields): Promise<FlowRunRecord | null> {
    if (!isUuid(id)) return null;
    const params = new Params([id]);
    const sets = ["updated_at = now()", ...flowRunFieldSets(fields, params)];
    const { rows } = await this.db.query<FlowRunRow>(`UPDATE flow_runs SET ${sets.join(", ")} WHERE id = $1 RETURNING ${FLOW_RUN_COLUMNS}`, params.values);
    return rows[0] ? toFlowRun(rows[0]) : null;
  }

  /**
   * Newest first. `created_after` is inclusive and `created_before` exclusive, so adjacent ranges
   * neither overlap nor leave gaps.
   */
  async listFlowRuns(
    workspaceId: string,
    filter: FlowRunFilter,
    page: { limit: number; after?: { created_at: string; id: string } },
  ): Promise<FlowRunRecord[]> {
    if (!isUuid(workspaceId)) return [];
    if (filter.deployment_id !== undefined && !isUuid(filter.deployment_id)) return [];
    const list = flowRunListSql(workspaceId, filter);
    const params = new Params(list.values);
    const where = [...list.where];
    if (page.after !== undefined) {
      if (!isUuid(page.after.id)) throw validationError("cursor is not valid; pass the next_cursor of a previous page unchanged");
      const at = params.add(isoInput(page.after.created_at, "cursor"));
      where.push(`(created_at, id) < (${at}::timestamptz, ${params.add(page.after.id)}::uuid)`);
    }
    const { rows } = await this.db.query<FlowRunRow>(
      `SELECT ${FLOW_RUN_COLUMNS} FROM flow_runs WHERE ${where.join(" AND ")}
       ORDER BY created_at DESC, id DESC LIMIT ${params.add(limit(page.limit))}`,
      params.values,
    );
    return rows.map(toFlowRun);
  }

  async totalFlowRuns(workspaceId: string, filter: FlowRunFilter): Promise<ListTotal> {
    if (!isUuid(workspaceId)) return NONE;
    if (filter.deployment_id !== undefined && !isUuid(filter.deployment_id)) return NONE;
    return listTotal(this.db, flowRunListSql(workspaceId, filter));
  }

  async listUnfinishedFlowRuns(filter: UnfinishedFlowRunFilter): Promise<FlowRunRecord[]> {
    const params = new Params([filter.pool_kind]);
    const after = filter.after_id === undefined ? "" : `AND id > ${params.add(uuidInput(filter.after_id, "after_id"))}::uuid`;
    const claimable = filter.claimable_by === undefined ? "" : `AND ${claimableBy("flow_runs", params.add(uuidInput(filter.claimable_by, "claimable_by")))}`;
    const { rows } = await this.db.query<FlowRunRow>(
      `SELECT ${FLOW_RUN_COLUMNS} FROM flow_runs WHERE pool_kind = $1 AND state_type IN ${UNFINISHED} ${after} ${claimable}
       ORDER BY id LIMIT ${params.add(limit(filter.limit))}`,
      params.values,
    );
    return rows.map(toFlowRun);
  }

  async getFlowRunHistory(workspaceId: string, id: string): Promise<StateHistoryEntry[]> {
    if (!isUuid(workspaceId) || !isUuid(id)) return [];
    const { rows } = await this.db.query<StateRow>(
      `SELECT s.id::text AS id, s.type, s.name, s.message, s.timestamp
       FROM flow_run_states s JOIN flow_runs r ON r.id = s.flow_run_id
       WHERE s.flow_run_id = $1 AND r.workspace_id = $2 ORDER BY s.id`,
      [id, workspaceId],
    );
    return rows.map(toStateEntry);
  }

  async findFlowRunByIdempotencyKey(workspaceId: string, key: string): Promise<FlowRunRecord | null> {
    if (!isUuid(workspaceId)) return null;
    const { rows } = await this.db.query<FlowRunRow>(`SELECT ${FLOW_RUN_COLUMNS} FROM flow_runs WHERE workspace_id = $1 AND idempotency_key = $2`, [
      workspaceId,
      key,
    ]);
    return rows[0] ? toFlowRun(rows[0]) : null;
  }

  async clearIdempotencyKey(id: string): Promise<void> {
    if (!isUuid(id)) return;
    await this.db.query("UPDATE flow_runs SET idempotency_key = NULL WHERE id = $1 AND idempotency_key IS NOT NULL", [id]);
  }

  async lockIdempotencyKey(workspaceId: string, key: string): Promise<void> {
    this.requireTransaction("lockIdempotencyKey");
    await this.db.query("SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))", [workspaceId, key]);
  }

  // --- server leases (SQL in server-leases.ts)

  renewServerLease(id: string, leaseMs: number): Promise<void> {
    return renewServerLease(this.db, uuidInput(id, "server id"), leaseMs);
  }

  claimFlowRun(id: string, serverId: string): Promise<{ previous_owner: string | null } | null> {
    return claimFlowRun(this.db, id, serverId);
  }

  // --- logs and events

  async insertLogs(workspaceId: string, flowRunId: string, lines: NewLogLine[]): Promise<LogLine[]> {
    if (lines.length === 0 || !isUuid(workspaceId) || !isUuid(flowRunId)) return [];
    // Lines are drawn from the run's locked row, so their ids come after that lock, as for state
    // changes: one run's events are numbered in commit order. A run of another workspace yields none.
    const { rows } = await this.db.query<LogRow>(
      `INSERT INTO flow_run_logs (flow_run_id, level, message, timestamp, source)
       SELECT r.id, l.level, l.message, l.ts, l.source
       FROM (SELECT id FROM flow_runs WHERE id = $1 AND workspace_id = $2 FOR NO KEY UPDATE) r
       CROSS JOIN unnest($3::text[], $4::text[], $5::timestamptz[], $6::text[]) WITH ORDINALITY AS l(level, message, ts, source, n)
       ORDER BY l.n
       RETURNING id::text AS id, flow_run_id, level, message, timestamp, source`,
      [
        flowRunId,
        workspaceId,
        lines.map((l) => l.level),
        // Whatever a client sends (a NUL byte a tool printed): PostgreSQL would refuse the whole batch.
        lines.map((l) => storableText(l.message)),
        lines.map((l) => isoInput(l.timestamp, "timestamp")),
        lines.map((l) => storableText(l.source)),
      ],
    );
    return rows.map(toLogLine).sort(byEventId);
  }

  async listLogs(flowRunId: string, page: { limit: number; after?: string }): Promise<LogLine[]> {
    if (!isUuid(flowRunId)) return [];
    const { rows } = await this.db.query<LogRow>(
      `SELECT id::text AS id, flow_run_id, level, message, timestamp, source FROM flow_run_logs
       WHERE flow_run_id = $1 AND id > $2::bigint ORDER BY flow_run_logs.id LIMIT $3`,
      [flowRunId, eventIdInput(page.after), limit(page.limit)],
    );
    return rows.map(toLogLine);
  }

  async listFlowRunEvents(flowRunId: string, page: { limit: number; after?: string }): Promise<FlowRunEvent[]> {
    if (!isUuid(flowRunId)) return [];
    const { rows } = await this.db.query<{
      kind: "state" | "log";
      id: string;
      flow_run_id: string;
      type: StateType | null;
      name: StateName | null;
      level: LogLevel | null;
      source: string | null;
      message: string | null;
      timestamp: Date;
    }>(
      `SELECT kind, id::text AS id, flow_run_id, type, name, level, source, message, timestamp FROM (
         (SELECT 'state' AS kind, id, flow_run_id, type, name, NULL::text AS level, NULL::text AS source, message, timestamp
          FROM flow_run_states WHERE flow_run_id = $1 AND id > $2::bigint ORDER BY id LIMIT $3)
         UNION ALL
         (SELECT 'log', id, flow_run_id, NULL, NULL, level, source, message, timestamp
          FROM flow_run_logs WHERE flow_run_id = $1 AND id > $2::bigint ORDER BY id LIMIT $3)
       ) e ORDER BY e.id LIMIT $3`,
      [flowRunId, eventIdInput(page.after), limit(page.limit)],
    );
    return rows.map((r): FlowRunEvent =>
      r.kind === "state"
        ? {
            kind: "state",
            id: r.id,
            flow_run_id: r.flow_run_id,
            state: { id: r.id, type: r.type!, name: r.name!, message: r.message, timestamp: iso(r.timestamp) },
          }
        : {
            kind: "log",
            id: r.id,
            flow_run_id: r.flow_run_id,
            log: { id: r.id, flow_run_id: r.flow_run_id, level: r.level!, message: r.message ?? "", timestamp: iso(r.timestamp), source: r.source ?? "" },
          },
    );
  }

  // --- quotas

  async managedUsage(workspaceId: string, monthStart: string): Promise<ManagedUsage> {
    if (!isUuid(workspaceId)) return { managed_pools: 0, concurrent_managed_runs: 0, queued_managed_runs: 0, compute_seconds: 0 };
    const { rows } = await this.db.query<ManagedUsage>(
      `SELECT
         (SELECT count(*)::int FROM work_pools WHERE workspace_id = $1 AND type LIKE '%:managed') AS managed_pools,
         count(*) FILTER (WHERE state_type IN ('PENDING', 'RUNNING', 'CANCELLING'))::int AS concurrent_managed_runs,
         count(*) FILTER (WHERE state_type = 'SCHEDULED')::int AS queued_managed_runs,
         (SELECT coalesce(sum(compute_seconds), 0)::float8 FROM flow_runs
          WHERE workspace_id = $1 AND pool_kind = 'managed' AND coalesce(start_time, created_at) >= $2::timestamptz) AS compute_seconds
       FROM flow_runs WHERE workspace_id = $1 AND pool_kind = 'managed' AND state_type IN ${UNFINISHED}`,
      [workspaceId, isoInput(monthStart, "monthStart")],
    );
    return first(rows);
  }

  async countActiveFlowRunsInPool(workPoolId: string): Promise<number> {
    if (!isUuid(workPoolId)) return 0;
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM flow_runs WHERE work_pool_id = $1 AND state_type IN ('PENDING', 'RUNNING', 'CANCELLING')`,
      [workPoolId],
    );
    return rows[0]?.n ?? 0;
  }

  async countActiveFlowRunsByPool(workspaceId: string): Promise<Map<string, number>> {
    if (!isUuid(workspaceId)) return new Map();
    const { rows } = await this.db.query<{ work_pool_id: string; n: number }>(
      `SELECT work_pool_id, count(*)::int AS n FROM flow_runs
       WHERE workspace_id = $1 AND state_type IN ('PENDING', 'RUNNING', 'CANCELLING') GROUP BY work_pool_id`,
      [workspaceId],
    );
    return new Map(rows.map((r) => [r.work_pool_id, r.n]));
  }

  async managedComputeByDay(workspaceId: string, fromDay: string): Promise<{ date: string; compute_seconds: number }[]> {
    if (!isUuid(workspaceId)) return [];
    if (!/^\d{4}-\d{2}-\d{2}$/.test(fromDay)) throw validationError(`fromDay '${fromDay}' is not a day (YYYY-MM-DD)`);
    // The day in UTC whatever the session's time zone; the same moment the month's quota counts a run on.
    const { rows } = await this.db.query<{ day: string; seconds: number }>(
      `SELECT to_char(date_trunc('day', coalesce(start_time, created_at) AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
              sum(compute_seconds)::float8 AS seconds
       FROM flow_runs
       WHERE workspace_id = $1 AND pool_kind = 'managed' AND coalesce(start_time, created_at) >= ($2::date)::timestamp AT TIME ZONE 'UTC'
       GROUP BY 1 ORDER BY 1`,
      [workspaceId, fromDay],
    );
    return rows.map((r) => ({ date: r.day, compute_seconds: r.seconds }));
  }

  async countFlowRunsByState(options: { unfinishedOnly?: boolean } = {}): Promise<Partial<Record<StateType, number>>> {
    // Unfinished: the states spelt out as in flow_runs_unfinished_idx's predicate, so the planner can
    // prove the partial index applies. All: reads every run.
    const { rows } = await this.db.query<{ state_type: StateType; n: number }>(
      options.unfinishedOnly
        ? `SELECT state_type, count(*)::int AS n FROM flow_runs WHERE state_type IN ${UNFINISHED} GROUP BY state_type`
        : "SELECT state_type, count(*)::int AS n FROM flow_runs GROUP BY state_type",
    );
    return Object.fromEntries(rows.map((r) => [r.state_type, r.n]));
  }

  async listQueuedFlowRuns(filter: QueuedFlowRunFilter): Promise<FlowRunRecord[]> {
    const params = new Params([filter.pool_kind]);
    const where = ["pool_kind = $1", "state_type = 'SCHEDULED'"];
    if (filter.due_at !== undefined) {
      // A retry waits for its next attempt's time as a scheduled run waits for its own.
      const due = params.add(isoInput(filter.due_at, "due_at"));
      where.push(`coalesce(next_attempt_at, expected_start_time, '-infinity'::timestamptz) <= ${due}::timestamptz`);
    }
    if (filter.workspace_id !== undefined) {
      if (!isUuid(filter.workspace_id)) return [];
      where.push(`workspace_id = ${params.add(filter.workspace_id)}::uuid`);
    }
    if (filter.work_pool_id !== undefined) {
      if (!isUuid(filter.work_pool_id)) return [];
      where.push(`work_pool_id = ${params.add(filter.work_pool_id)}::uuid`);
    }
    const { rows } = await this.db.query<FlowRunRow>(
      `SELECT ${FLOW_RUN_COLUMNS} FROM flow_runs WHERE ${where.join(" AND ")}
       ORDER BY coalesce(next_attempt_at, expected_start_time, created_at), id LIMIT ${params.add(limit(filter.limit))}`,
      params.values,
    );
    return rows.map(toFlowRun);
  }

  // --- schedules (schedules.ts)

  listScheduledDeployments(page: PageRequest<string>): Promise<{ id: string; workspace_id: string }[]> {
    return schedules.listScheduledDeployments(this.db, page);
  }

  async lockDeploymentForScheduling(workspaceId: string, id: string): Promise<{ deployment: DeploymentRecord; pool: WorkPoolRecord } | null> {
    this.requireTransaction("lockDeploymentForScheduling");
    if (!isUuid(workspaceId) || !isUuid(id)) return null;
    await this.db.query("SELECT 1 FROM deployments WHERE workspace_id = $1 AND id = $2 FOR UPDATE", [workspaceId, id]);
    return this.getDeploymentAndPool(workspaceId, id);
  }

  setSchedulesCheckedAt(id: string, at: string | null): Promise<void> {
    return schedules.setSchedulesCheckedAt(this.db, id, at);
  }

  deleteScheduledFlowRuns(deploymentId: string, after: string): Promise<string[]> {
    return schedules.deleteScheduledFlowRuns(this.db, deploymentId, after);
  }

  async listLateFlowRuns(now: string, max: number): Promise<FlowRunRecord[]> {
    const { rows } = await this.db.query<FlowRunRow>(
      `SELECT ${FLOW_RUN_COLUMNS.split(", ").map((c) => `r.${c}`).join(", ")} FROM flow_runs r JOIN deployments d ON d.id = r.deployment_id
       WHERE r.state_type = 'SCHEDULED' AND r.state_name <> 'Late'
         AND coalesce(r.next_attempt_at, r.expected_start_time, r.created_at) + d.late_after_seconds * interval '1 second' < $1::timestamptz
       ORDER BY r.id LIMIT $2`,
      [isoInput(now, "now"), limit(max)],
    );
    return rows.map(toFlowRun);
  }

  deploymentConcurrency(workspaceId: string, ids: string[]): Promise<Map<string, AdmissionDeployment>> {
    return schedules.deploymentConcurrency(this.db, workspaceId, ids);
  }

  private requireTransaction(method: string): void {
    if (!this.inTransaction) {
      throw new FerryError("internal", `${method} holds its lock only until the transaction ends: call it on the tx inside store.transaction()`);
    }
  }
}

/** Marks the async work running inside one of this store's transactions. */
interface TransactionScope {
  open: boolean;
}

export interface SqlStoreOptions {
  /**
   * Receives what a subscriber's handler threw. Without it the error is rethrown outside the
   * notification's delivery, as an uncaught exception (what an EventEmitter listener's throw does).
   */
  onError?: (error: FerryError) => void;
}

export class SqlStore extends SqlStoreTx implements Store {
  readonly kind: "pglite" | "postgres";
  private readonly driver: SqlDriver;
  private readonly scope: AsyncLocalStorage<TransactionScope>;
  private readonly onError: ((error: FerryError) => void) | undefined;
  private closing: Promise<void> | null = null;

  constructor(driver: SqlDriver, options: SqlStoreOptions = {}) {
    const scope = new AsyncLocalStorage<TransactionScope>();
    super(mapErrors(guardTransactions(driver, scope)), false);
    this.driver = driver;
    this.scope = scope;
    this.kind = driver.kind;
    this.onError = options.onError;
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    assertOutside(this.scope, "transaction");
    const scope: TransactionScope = { open: true };
    const fromCallback = { failed: false, error: undefined as unknown };
    try {
      return await this.scope.run(scope, () =>
        this.driver.transaction(async (tx) => {
          try {
            return await fn(new SqlStoreTx(mapErrors(tx), true));
          } catch (error) {
            fromCallback.failed = true;
            fromCallback.error = error;
            throw error;
          }
        }),
      );
    } catch (error) {
      // The caller's own errors pass through untouched; BEGIN, COMMIT and connection failures are mapped.
      if (fromCallback.failed && fromCallback.error === error) throw error;
      throw toFerryError(error);
    } finally {
      scope.open = false;
    }
  }

  async migrate(): Promise<void> {
    assertOutside(this.scope, "migrate");
    try {
      await migrate(this.driver);
    } catch (error) {
      throw toFerryError(error);
    }
  }

  async maintain(options: { missingOnly?: boolean } = {}): Promise<{ analyzed: string[]; vacuumed: string[] }> {
    assertOutside(this.scope, "maintain");
    // PostgreSQL has autovacuum.
    if (this.driver.kind !== "pglite") return { analyzed: [], vacuumed: [] };
    try {
      const plan = planMaintenance(await readTableActivity(this.driver), options);
      await runMaintenance(this.driver, plan);
      return { analyzed: plan.analyze, vacuumed: plan.vacuum };
    } catch (error) {
      throw toFerryError(error);
    }
  }

  async publish(channel: string, payload: string): Promise<void> {
    assertOutside(this.scope, "publish");
    assertChannel(channel);
    try {
      await this.driver.notify(channel, payload);
    } catch (error) {
      throw toFerryError(error);
    }
  }

  async subscribe(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    assertChannel(channel);
    // Handlers run outside any transaction's async context, even when PGlite delivers a notification
    // while answering a statement of an open transaction.
    const detached = (payload: string) =>
      this.scope.exit(() => {
        try {
          handler(payload);
        } catch (error) {
          const failure = new FerryError("internal", `a subscriber of '${channel}' threw while handling a notification`, { cause: error });
          if (this.onError) this.onError(failure);
          else
            queueMicrotask(() => {
              throw failure;
            });
        }
      });
    try {
      const stop = await this.driver.listen(channel, detached);
      return async () => {
        try {
          await stop();
        } catch (error) {
          throw toFerryError(error);
        }
      };
    } catch (error) {
      throw toFerryError(error);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.driver.close().catch((error: unknown) => {
      throw toFerryError(error);
    });
    return this.closing;
  }
}

// --- helpers

function guardTransactions(driver: SqlDriver, scope: AsyncLocalStorage<TransactionScope>): SqlExecutor {
  return {
    query: <R>(sql: string, params?: readonly unknown[]) => {
      assertOutside(scope, "a Store method");
      return driver.query<R>(sql, params);
    },
    exec: (sql: string) => {
      assertOutside(scope, "a Store method");
      return driver.exec(sql);
    },
  };
}

/**
 * Inside `transaction(fn)`, `fn` must use its `tx`. Using the store itself would, on PostgreSQL, run
 * outside the transaction and its locks; on PGlite (one connection) it would wait for the transaction
 * to end, which waits for it: a deadlock. Both are refused the same way.
 */
function assertOutside(scope: AsyncLocalStorage<TransactionScope>, what: string): void {
  if (scope.getStore()?.open) {
    throw new FerryError(
      "internal",
      `${what} was called on the store inside store.transaction(); call it on the tx passed to the callback, or after the transaction`,
    );
  }
}

function mapErrors(executor: SqlExecutor): SqlExecutor {
  return {
    query: async <R>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> => {
      try {
        return await executor.query<R>(sql, params);
      } catch (error) {
        throw toFerryError(error);
      }
    },
    exec: async (sql: string) => {
      try {
        await executor.exec(sql);
      } catch (error) {
        throw toFerryError(error);
      }
    },
  };
}

const NONE: ListTotal = { total: 0, total_is_estimate: false };

/** A workspace's runs under a filter; a page adds its keyset condition to it. */
/** The lowest and highest uuids starting with `prefix` (hex digits, dashes anywhere the uuid has them). */
export function uuidPrefixRange(prefix: string): [string, string] {
  const hex = prefix.replace(/-/g, "").toLowerCase();
  if (!/^[0-9a-f]{0,32}$/.test(hex)) throw validationError(`id prefix '${prefix}' is not hexadecimal`);
  const shape = (digits: string) => `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20)}`;
  return [shape(hex.padEnd(32, "0")), shape(hex.padEnd(32, "f"))];
}

function flowRunListSql(workspaceId: string, filter: FlowRunFilter): ListSql {
  const params = new Params([workspaceId]);
  const where = ["workspace_id = $1"];
  if (filter.deployment_id !== undefined) where.push(`deployment_id = ${params.add(filter.deployment_id)}::uuid`);
  if (filter.work_pool !== undefined) where.push(`work_pool = ${params.add(filter.work_pool)}`);
  // One state: an equality, so flow_runs_workspace_state_created_idx yields the page already in order
  // and the scan stops after `limit` rows, whatever the statistics say (with ANY the planner may fetch
  // every run of that state and sort them, as it does when it thinks the table small).
  if (filter.states?.length === 1) where.push(`state_type = ${params.add(filter.states[0])}`);
  else if (filter.states !== undefined) where.push(`state_type = ANY(${params.add(filter.states)}::text[])`);
  if (filter.created_after !== undefined) where.push(`created_at >= ${params.add(isoInput(filter.created_after, "created_after"))}::timestamptz`);
  if (filter.created_before !== undefined) where.push(`created_at < ${params.add(isoInput(filter.created_before, "created_before"))}::timestamptz`);
  if (filter.id_prefix !== undefined) {
    // A range of ids rather than LIKE on the text: the primary key's index answers it.
    const [low, high] = uuidPrefixRange(filter.id_prefix);
    where.push(`id BETWEEN ${params.add(low)}::uuid AND ${params.add(high)}::uuid`);
  }
  if (filter.name !== undefined) where.push(`name = ${params.add(filter.name)}`);
  return { from: "flow_runs", where, values: params.values };
}

/**
 * A workspace's deployments under a filter. The pool is resolved to its id in a subquery, so a pool's
 * page reads (work_pool_id, flow_name, name) in order. A search matches each word anywhere in
 * flow/name, the pool's name or the tags: a scan of the workspace's deployments, which are few next
 * to its runs.
 */
function deploymentListSql(workspaceId: string, filter: DeploymentFilter): ListSql {
  const params = new Params([workspaceId]);
  const where = ["d.workspace_id = $1"];
  if (filter.work_pool !== undefined) {
    where.push(`d.work_pool_id = (SELECT id FROM work_pools WHERE workspace_id = $1 AND name = ${params.add(filter.work_pool)})`);
  }
  if (filter.flow_name !== undefined) where.push(`d.flow_name = ${params.add(filter.flow_name)}`);
  if (filter.name !== undefined) where.push(`d.name = ${params.add(filter.name)}`);
  for (const word of searchWords(filter.search)) {
    where.push(`strpos(lower(d.flow_name || '/' || d.name || ' ' || p.name || ' ' || d.tags::text), ${params.add(word)}) > 0`);
  }
  return { from: "deployments d JOIN work_pools p ON p.id = d.work_pool_id", where, values: params.values };
}

/** ` LIMIT $n` for a page; nothing for a whole list (callers inside the server that need every row). */
function pageLimit(page: PageRequest<unknown> | undefined, params: Params): string {
  return page ? ` LIMIT ${params.add(limit(page.limit))}` : "";
}

function uuidCursor(id: string): string {
  if (!isUuid(id)) throw validationError("cursor is not valid; pass the next_cursor of a previous page unchanged");
  return id;
}

class Params {
  constructor(readonly values: unknown[] = []) {}
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function flowRunFieldSets(fields: FlowRunFields, params: Params): string[] {
  const sets: string[] = [];
  if (fields.infrastructure_id !== undefined) sets.push(`infrastructure_id = ${params.add(fields.infrastructure_id)}`);
  if (fields.job_configuration !== undefined) {
    sets.push(`job_configuration = ${params.add(fields.job_configuration === null ? null : json(fields.job_configuration))}::jsonb`);
  }
  if (fields.start_time !== undefined) {
    sets.push(`start_time = ${params.add(fields.start_time === null ? null : isoInput(fields.start_time, "start_time"))}::timestamptz`);
  }
  if (fields.end_time !== undefined) {
    sets.push(`end_time = ${params.add(fields.end_time === null ? null : isoInput(fields.end_time, "end_time"))}::timestamptz`);
  }
  if (fields.compute_seconds !== undefined) sets.push(`compute_seconds = ${params.add(fields.compute_seconds)}::float8`);
  if (fields.result !== undefined) sets.push(`result = ${params.add(fields.result === null ? null : json(fields.result))}::jsonb`);
  if (fields.attempt !== undefined) sets.push(`attempt = ${params.add(fields.attempt)}::int`);
  if (fields.next_attempt_at !== undefined) {
    sets.push(`next_attempt_at = ${params.add(fields.next_attempt_at === null ? null : isoInput(fields.next_attempt_at, "next_attempt_at"))}::timestamptz`);
  }
  if (fields.source_commit !== undefined) sets.push(`source_commit = ${params.add(fields.source_commit)}`);
  return sets;
}

/** Parameters $6… of insertDeployment and updateDeployment, in column order. */
function deploymentValues(input: Omit<DeploymentRecord, "id" | "workspace_id" | "created_at" | "updated_at">): unknown[] {
  return [
    json(input.source),
    input.entrypoint,
    json(input.job_variables),
    json(input.parameters),
    input.parameter_schema === null ? null : json(input.parameter_schema),
    input.pull_steps === null ? null : json(input.pull_steps),
    json(input.tags),
    input.description,
    input.paused,
    json(input.schedules),
    input.catchup_policy,
    input.catchup_max_runs,
    input.concurrency_limit,
    input.collision_strategy,
    input.late_after_seconds,
    input.retries ?? 0,
    input.retry_delay_seconds ?? 0,
    input.retry_on_crash ?? false,
  ];
}

function alreadyExists(what: string, name: string, fix: string): FerryError {
  return new FerryError("conflict", `${what} '${name}' already exists in this workspace; ${fix}`, { details: { name } });
}

function assertChannel(channel: string): void {
  if (!CHANNEL_PATTERN.test(channel)) {
    throw validationError(`notification channel '${channel}' must be a lower-case identifier such as flow_run_events (letters, digits, _)`);
  }
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

function iso(value: Date): string {
  return value.toISOString();
}

function isoOrNull(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

/** Normalises a caller's timestamp to the form the store returns, so what is written reads back the same. */
function isoInput(value: string, field: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw validationError(`${field} '${value}' is not an ISO-8601 timestamp`);
  return date.toISOString();
}


function uuidInput(value: string, field: string): string {
  if (!isUuid(value)) throw validationError(`${field} '${value}' is not a UUID`);
  return value;
}

function eventIdInput(after: string | undefined): string {
  if (after === undefined) return "0";
  if (!EVENT_ID_PATTERN.test(after)) throw validationError(`event id '${after}' is not valid; pass the id of an event this server sent`);
  return after;
}

function limit(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw validationError(`limit ${n} must be a non-negative whole number`);
  return n;
}

function byEventId(a: { id: string }, b: { id: string }): number {
  const x = BigInt(a.id);
  const y = BigInt(b.id);
  return x < y ? -1 : x > y ? 1 : 0;
}

function first<T>(rows: T[]): T {
  const row = rows[0];
  if (row === undefined) throw new FerryError("internal", "the database returned no row where one was expected");
  return row;
}
