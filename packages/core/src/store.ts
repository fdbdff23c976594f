import type { ApiKey, Deployment, FlowRun, FlowRunEvent, ListTotal, LogLevel, LogLine, StateHistoryEntry, WorkPool } from "./models.js";
import type { AdmissionDeployment } from "./admission.js";
import type { ManagedUsage } from "./quotas.js";
import type { OidcTrustPolicy } from "./oidc-trust.js";
import type { Role } from "./roles.js";
import type { StateChange, StateName, StateType } from "./states.js";
import type { TierLimits, TierName } from "./tiers.js";

/**
 * Where the server keeps the domain. One implementation runs on PostgreSQL and on PGlite (PostgreSQL
 * in WebAssembly) with the same SQL. The store persists and queries; it decides nothing: callers run
 * core's rules (transitions, quotas) inside `transaction` after locking what they read.
 *
 * Every method that takes `workspaceId` only sees that workspace's rows: another workspace's object is
 * `null`, exactly like one that does not exist. Timestamps are ISO-8601 strings in UTC.
 */
/**
 * One page of a list in its order (keyset pagination): up to `limit` rows after the row whose key is
 * `after`, from the first row without it. A list method called without a page returns every row: for
 * the server's own needs, never for an API answer.
 */
export interface PageRequest<K> {
  limit: number;
  after?: K;
}

export interface DeploymentFilter {
  work_pool?: string;
  flow_name?: string;
  name?: string;
  /** Words that must each appear (any case) in `flow/name`, the pool's name or a tag. */
  search?: string;
}

/**
 * The `total…` methods count the rows the matching list method would return over all its pages:
 * exactly up to LIST_TOTAL_EXACT_MAX, else an estimate marked as one.
 */
export interface StoreTx {
  // --- workspaces and keys
  createWorkspace(input: { id: string; name: string; tier: TierName; limits_override: Partial<TierLimits> }): Promise<WorkspaceRecord>;
  getWorkspace(id: string): Promise<WorkspaceRecord | null>;
  /** Oldest first (by id: ids are time-ordered); the page key is the id. */
  listWorkspaces(page?: PageRequest<string>): Promise<WorkspaceRecord[]>;
  totalWorkspaces(): Promise<ListTotal>;
  updateWorkspace(id: string, patch: { tier?: TierName; limits_override?: Partial<TierLimits> }): Promise<WorkspaceRecord | null>;
  /** Takes a row lock on the workspace until the transaction ends: serialises quota decisions. */
  lockWorkspace(id: string): Promise<WorkspaceRecord | null>;
  countWorkspaces(): Promise<number>;

  insertApiKey(input: { id: string; workspace_id: string; name: string; prefix: string; hash: string }): Promise<ApiKeyRecord>;
  /** The key with this SHA-256 hash (hex) and its workspace, or null. */
  findApiKeyByHash(hash: string): Promise<{ key: ApiKeyRecord; workspace: WorkspaceRecord } | null>;
  /** Oldest first (by id); the page key is the id. */
  listApiKeys(workspaceId: string, page?: PageRequest<string>): Promise<ApiKeyRecord[]>;
  totalApiKeys(workspaceId: string): Promise<ListTotal>;
  deleteApiKey(workspaceId: string, id: string): Promise<boolean>;
  touchApiKey(id: string, at: string): Promise<void>;

  // --- browser sessions and login links (the web UI)
  insertSession(input: SessionRecord): Promise<void>;
  /** The unexpired session with this token hash, with its workspace; null when unknown or expired at `now`. */
  findSession(hash: string, now: string): Promise<{ session: SessionRecord; workspace: WorkspaceRecord } | null>;
  deleteSession(hash: string): Promise<boolean>;
  insertLoginLink(input: LoginLinkRecord): Promise<void>;
  /** Marks the link used if it is unused and unexpired at `now`, in one statement (two redemptions: one wins); else null. */
  claimLoginLink(hash: string, now: string): Promise<LoginLinkRecord | null>;
  /** Deletes sessions and login links that expired before `now`; how many of each. */
  deleteExpiredSessions(now: string): Promise<{ sessions: number; login_links: number }>;

  // --- OIDC trust policies and the access tokens exchanged under them
  insertOidcTrustPolicy(input: Omit<OidcTrustPolicyRecord, "created_at">): Promise<OidcTrustPolicyRecord>;
  /** By name; the page key is the name. */
  listOidcTrustPolicies(workspaceId: string, page?: PageRequest<string>): Promise<OidcTrustPolicyRecord[]>;
  totalOidcTrustPolicies(workspaceId: string): Promise<ListTotal>;
  deleteOidcTrustPolicy(workspaceId: string, name: string): Promise<boolean>;
  insertAccessToken(input: AccessTokenRecord): Promise<void>;
  /** The unexpired access token with this hash, with its workspace; null when unknown, expired at `now` or its policy deleted. */
  findAccessToken(hash: string, now: string): Promise<{ token: AccessTokenRecord; workspace: WorkspaceRecord } | null>;
  /** Deletes access tokens that expired before `now`; how many. */
  deleteExpiredAccessTokens(now: string): Promise<number>;

  // --- what a run's engine authenticates with
  /** A run's state and workspace in one indexed read: checked on every request a run token makes. */
  getRunTokenSubject(flowRunId: string): Promise<{ stateType: StateType; workspace: WorkspaceRecord } | null>;
  insertRunBootstrapToken(input: RunBootstrapTokenRecord): Promise<void>;
  /**
   * Marks the bootstrap token with this hash used, if it is unused and unexpired at `now`, in one
   * statement (two exchanges at once: one wins). Otherwise says why not; unknown hashes are null.
   */
  claimRunBootstrapToken(hash: string, now: string): Promise<{ outcome: "claimed" | "used" | "expired"; token: RunBootstrapTokenRecord } | null>;

  // --- work pools
  insertWorkPool(input: Omit<WorkPoolRecord, "created_at" | "updated_at">): Promise<WorkPoolRecord>;
  getWorkPool(workspaceId: string, name: string): Promise<WorkPoolRecord | null>;
  getWorkPoolById(workspaceId: string, id: string): Promise<WorkPoolRecord | null>;
  /** By name; the page key is the name. */
  listWorkPools(workspaceId: string, page?: PageRequest<string>): Promise<WorkPoolRecord[]>;
  totalWorkPools(workspaceId: string): Promise<ListTotal>;
  updateWorkPool(
    workspaceId: string,
    name: string,
    patch: Partial<Pick<WorkPoolRecord, "description" | "base_job_template" | "concurrency_limit" | "paused" | "credentials">>,
  ): Promise<WorkPoolRecord | null>;
  deleteWorkPool(workspaceId: string, name: string): Promise<boolean>;

  // --- credentials
  insertCredentials(input: Omit<CredentialsRecord, "created_at" | "updated_at">): Promise<CredentialsRecord>;
  /** Replaces type and data of existing credentials, keeping id and created_at. */
  replaceCredentials(workspaceId: string, name: string, input: Pick<CredentialsRecord, "type" | "plain_data" | "secret_ciphertext">): Promise<CredentialsRecord | null>;
  getCredentials(workspaceId: string, name: string): Promise<CredentialsRecord | null>;
  /** By name; the page key is the name. */
  listCredentials(workspaceId: string, page?: PageRequest<string>): Promise<CredentialsRecord[]>;
  totalCredentials(workspaceId: string): Promise<ListTotal>;
  deleteCredentials(workspaceId: string, name: string): Promise<boolean>;
  /** Names of the pools and deployments (as `flow/name`) that refer to the credentials. */
  credentialsUsage(workspaceId: string, name: string): Promise<{ work_pools: string[]; deployments: string[] }>;

  // --- deployments
  insertDeployment(input: Omit<DeploymentRecord, "created_at" | "updated_at">): Promise<DeploymentRecord>;
  updateDeployment(workspaceId: string, id: string, input: Omit<DeploymentRecord, "id" | "workspace_id" | "created_at" | "updated_at">): Promise<DeploymentRecord | null>;
  getDeployment(workspaceId: string, id: string): Promise<DeploymentRecord | null>;
  /** The deployment and its work pool in one read: what creating a run needs. */
  getDeploymentAndPool(workspaceId: string, id: string): Promise<{ deployment: DeploymentRecord; pool: WorkPoolRecord } | null>;
  getDeploymentByName(workspaceId: string, flowName: string, name: string): Promise<DeploymentRecord | null>;
  /** By flow name, then name; the page key is both. */
  listDeployments(workspaceId: string, filter: DeploymentFilter, page?: PageRequest<{ flow_name: string; name: string }>): Promise<DeploymentRecord[]>;
  totalDeployments(workspaceId: string, filter: DeploymentFilter): Promise<ListTotal>;
  deleteDeployment(workspaceId: string, id: string): Promise<boolean>;

  // --- flow runs
  /** Inserts the run and its first state-history entry. */
  insertFlowRun(input: NewFlowRun): Promise<FlowRunRecord>;
  /**
   * Inserts many runs and their first state-history entries in one statement, as `insertFlowRun` does
   * each: for imports, for filling a store to measure it (the bench) and for the scheduler. A run whose
   * idempotency key the workspace already holds (for the scheduler: a schedule time that has its run,
   * see scheduledRunKey) is left out, not an error. Resolves to how many runs were inserted.
   */
  insertFlowRuns(inputs: readonly NewFlowRun[]): Promise<number>;
  getFlowRun(workspaceId: string, id: string): Promise<FlowRunRecord | null>;
  /** Those of the runs that are the workspace's (another workspace's are left out), in no order. */
  getFlowRuns(workspaceId: string, ids: string[]): Promise<FlowRunRecord[]>;
  /** For the dispatcher, which acts for every workspace. */
  getFlowRunForSystem(id: string): Promise<FlowRunRecord | null>;
  /**
   * Sets a new state only if the run is still in `expected` (type and name), in one statement: the
   * optimistic form of lock-check-update. Null when the run moved on (or does not exist); the caller
   * reads it again and decides anew.
   */
  compareAndSetFlowRunState(
    id: string,
    expected: { type: StateType; name: StateName },
    state: StateChange & { timestamp: string },
    fields?: FlowRunFields,
  ): Promise<{ run: FlowRunRecord; entry: StateHistoryEntry } | null>;
  /** Sets a new state (appending it to the history) and any of the given fields. */
  setFlowRunState(id: string, state: StateChange & { timestamp: string }, fields?: FlowRunFields): Promise<{ run: FlowRunRecord; entry: StateHistoryEntry }>;
  updateFlowRun(id: string, fields: FlowRunFields): Promise<FlowRunRecord | null>;
  listFlowRuns(workspaceId: string, filter: FlowRunFilter, page: PageRequest<{ created_at: string; id: string }>): Promise<FlowRunRecord[]>;
  totalFlowRuns(workspaceId: string, filter: FlowRunFilter): Promise<ListTotal>;
  /** Non-terminal runs of every workspace, oldest first: what the dispatcher must drive after a restart. */
  listUnfinishedFlowRuns(filter: UnfinishedFlowRunFilter): Promise<FlowRunRecord[]>;
  getFlowRunHistory(workspaceId: string, id: string): Promise<StateHistoryEntry[]>;
  /** An unexpired run created with this idempotency key, with the time it was created. */
  findFlowRunByIdempotencyKey(workspaceId: string, key: string): Promise<FlowRunRecord | null>;
  /** Frees a key whose 24 hours have passed, so a new run can take it. */
  clearIdempotencyKey(id: string): Promise<void>;
  /** Serialises creations that use the same idempotency key (a transaction-scoped advisory lock). */
  lockIdempotencyKey(workspaceId: string, key: string): Promise<void>;

  // --- server leases: which server process drives which run
  /** Server `id` is alive until `leaseMs` from now, by the database's clock (the servers' clocks may differ). */
  renewServerLease(id: string, leaseMs: number): Promise<void>;
  /**
   * Makes server `serverId` the run's owner, in one statement, when the run has no owner, is already its,
   * or its owner's lease has expired; with the owner it had (null: no server ever drove it). Null when
   * another live server owns it, or the run does not exist.
   */
  claimFlowRun(id: string, serverId: string): Promise<{ previous_owner: string | null } | null>;

  // --- logs and events
  insertLogs(workspaceId: string, flowRunId: string, lines: NewLogLine[]): Promise<LogLine[]>;
  listLogs(flowRunId: string, page: { limit: number; after?: string }): Promise<LogLine[]>;
  /** State entries and log lines of a run after the given event id, in the order they happened. */
  listFlowRunEvents(flowRunId: string, page: { limit: number; after?: string }): Promise<FlowRunEvent[]>;

  // --- quotas
  managedUsage(workspaceId: string, monthStart: string): Promise<ManagedUsage>;
  /** Runs of a pool that hold a slot: PENDING, RUNNING or CANCELLING. */
  countActiveFlowRunsInPool(workPoolId: string): Promise<number>;
  /** The same, for every pool of the workspace at once, by pool id (pools with none are absent). */
  countActiveFlowRunsByPool(workspaceId: string): Promise<Map<string, number>>;
  /**
   * Managed compute seconds per UTC day from `fromDay` (YYYY-MM-DD) on, counted on the day a run started
   * (or was created, if it never started), as the month's quota counts them. Days without any are absent.
   */
  managedComputeByDay(workspaceId: string, fromDay: string): Promise<{ date: string; compute_seconds: number }[]>;
  /**
   * Runs by current state type across workspaces (for the metrics endpoint). `unfinishedOnly`: only the
   * unfinished states, read through their index (cheap however many runs ended); without it every run
   * is counted.
   */
  countFlowRunsByState(options?: { unfinishedOnly?: boolean }): Promise<Partial<Record<StateType, number>>>;
  /** Runs waiting to start (SCHEDULED), oldest first: of one kind of pool, across workspaces, or of one workspace or pool. */
  listQueuedFlowRuns(filter: QueuedFlowRunFilter): Promise<FlowRunRecord[]>;

  // --- schedules
  /** Unpaused deployments with schedules, across workspaces, by id: what the scheduler visits. */
  listScheduledDeployments(page: PageRequest<string>): Promise<{ id: string; workspace_id: string }[]>;
  /**
   * Locks the deployment's row until the transaction ends (its scheduling is decided by one server at a
   * time, and a schedule's change waits for it) and reads it with its pool and `schedules_checked_at`.
   */
  lockDeploymentForScheduling(workspaceId: string, id: string): Promise<{ deployment: DeploymentRecord; pool: WorkPoolRecord } | null>;
  setSchedulesCheckedAt(id: string, at: string | null): Promise<void>;
  /**
   * Deletes the runs the scheduler made for the deployment (their keys start with scheduledRunKeyPrefix)
   * still SCHEDULED and due after `after`; their ids. A run asked for a later time stays.
   */
  deleteScheduledFlowRuns(deploymentId: string, after: string): Promise<string[]>;
  /**
   * Runs of every workspace still SCHEDULED and not yet named Late whose expected start (or creation) is
   * more than their deployment's `late_after_seconds` before `now`.
   */
  listLateFlowRuns(now: string, limit: number): Promise<FlowRunRecord[]>;
  /** Of the given deployments, those with a concurrency limit, with their active runs (PENDING, RUNNING, CANCELLING), by id. */
  deploymentConcurrency(workspaceId: string, ids: string[]): Promise<Map<string, AdmissionDeployment>>;
  // --- variables and secrets: by name; a list's page key is the name
  /** Sets a variable: made, or its value replaced (keeping created_at). */
  putVariable(workspaceId: string, name: string, value: string): Promise<VariableRecord>;
  /** Those of the named variables that exist, by name. */
  getVariables(workspaceId: string, names: readonly string[]): Promise<VariableRecord[]>;
  listVariables(workspaceId: string, page?: PageRequest<string>): Promise<VariableRecord[]>;
  totalVariables(workspaceId: string): Promise<ListTotal>;
  deleteVariable(workspaceId: string, name: string): Promise<boolean>;
  /** Sets a secret from the server's ciphertext of its value (the store never sees it in clear). */
  putSecret(workspaceId: string, name: string, ciphertext: string): Promise<SecretRecord>;
  getSecrets(workspaceId: string, names: readonly string[]): Promise<SecretRecord[]>;
  listSecrets(workspaceId: string, page?: PageRequest<string>): Promise<SecretRecord[]>;
  totalSecrets(workspaceId: string): Promise<ListTotal>;
  deleteSecret(workspaceId: string, name: string): Promise<boolean>;
}

export interface Store extends StoreTx {
  readonly kind: "pglite" | "postgres";
  /** Runs `fn` in one transaction: all of its writes happen, or none. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  /**
   * Housekeeping the database does not do by itself: on the embedded store (no autovacuum), refreshes
   * the planner's statistics of tables that changed much or never had any, and vacuums tables with many
   * dead rows. Does nothing on PostgreSQL. Returns the tables it analysed and vacuumed. `missingOnly`:
   * only analyse the tables that never had statistics (quick; what opening a store does).
   */
  maintain(options?: { missingOnly?: boolean }): Promise<{ analyzed: string[]; vacuumed: string[] }>;
  /** Publishes a notification to every process on the same database (LISTEN/NOTIFY). */
  publish(channel: string, payload: string): Promise<void>;
  /** Returns a function that stops the subscription. */
  subscribe(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface WorkspaceRecord {
  id: string;
  name: string;
  tier: TierName;
  limits_override: Partial<TierLimits>;
  created_at: string;
}

/** A browser's session, stored by the hash of its token (the cookie's value) only. */
export interface SessionRecord {
  hash: string;
  workspace_id: string;
  /** The key that signed in: deleting it ends the session. */
  api_key_id: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

/** A single-use link that signs a browser in, stored by the hash of its token only. */
export interface LoginLinkRecord {
  hash: string;
  workspace_id: string;
  api_key_id: string;
  /** Where the browser goes once signed in: a local path. */
  path: string;
  expires_at: string;
}

export interface OidcTrustPolicyRecord extends OidcTrustPolicy {
  workspace_id: string;
}

/** A short-lived access token exchanged for an OIDC token, stored by its hash only. */
export interface AccessTokenRecord {
  hash: string;
  workspace_id: string;
  /** The trust policy it was issued under: deleting the policy ends it. */
  policy_id: string;
  role: Role;
  /** The OIDC token's issuer and `sub`, for audit. */
  issuer: string;
  subject: string;
  created_at: string;
  expires_at: string;
}

/** A run's single-use bootstrap token, stored by its hash only. */
export interface RunBootstrapTokenRecord {
  hash: string;
  flow_run_id: string;
  workspace_id: string;
  /** The bootstrap token is refused after this. */
  expires_at: string;
  /** When the run token it is exchanged for stops working (the run's maximum runtime and a margin). */
  run_token_expires_at: string;
}

export interface ApiKeyRecord extends ApiKey {
  workspace_id: string;
}

/** A pool as stored; its `active_runs` is counted when it is read for an answer. */
export interface WorkPoolRecord extends Omit<WorkPool, "active_runs"> {
  workspace_id: string;
  /**
   * Changes whenever `base_job_template` does (the store derives it when the pool is written): run
   * creation finds the template's compiled schema by it. Set on records read from the store only.
   */
  template_key?: string;
}

export interface CredentialsRecord {
  id: string;
  workspace_id: string;
  name: string;
  type: string;
  /** Fields that are not secret, in clear. */
  plain_data: Record<string, unknown>;
  /** The secret fields, encrypted by the server (the store never sees them in clear). */
  secret_ciphertext: string;
  created_at: string;
  updated_at: string;
}

/** A workspace variable: a plain named value a deployment's env may refer to (`{{ var.NAME }}`). */
export interface VariableRecord {
  workspace_id: string;
  name: string;
  value: string;
  created_at: string;
  updated_at: string;
}

/** A workspace secret (`{{ secret.NAME }}`): its value only as the server's ciphertext, never returned by the API. */
export interface SecretRecord {
  workspace_id: string;
  name: string;
  ciphertext: string;
  created_at: string;
  updated_at: string;
}

export interface DeploymentRecord extends Deployment {
  workspace_id: string;
  work_pool_id: string;
  /** When the scheduler last created the deployment's runs (null: never). Set on records read from the store only. */
  schedules_checked_at?: string | null;
  /** Like a pool's `template_key`, for `parameter_schema` (null without one). Set on records read from the store only. */
  parameter_schema_key?: string | null;
}

export interface FlowRunRecord extends FlowRun {
  workspace_id: string;
  work_pool_id: string;
}

export interface NewFlowRun {
  id: string;
  workspace_id: string;
  name: string;
  deployment_id: string;
  deployment_name: string;
  flow_name: string;
  work_pool_id: string;
  work_pool: string;
  work_pool_type: string;
  parameters: Record<string, unknown>;
  job_variables: Record<string, unknown>;
  job_configuration: Record<string, unknown> | null;
  tags: string[];
  idempotency_key: string | null;
  /** States the run passed through on its way to `state`, at creation (e.g. Scheduled before Submitting). */
  prior_states?: StateChange[];
  state: StateChange;
  created_at: string;
  /**
   * The server that drives the run from its creation, recorded as its owner as `claimFlowRun` would
   * (saving that statement): the server whose dispatcher submits the run at once. Absent: no owner yet.
   */
  owner_id?: string | null;
  /** A scheduled run's time: it is not admitted before it. One run per deployment and time. */
  expected_start_time?: string | null;
  /** The retry policy, fixed at creation (absent: none). */
  retries?: number;
  retry_delay_seconds?: number;
  retry_on_crash?: boolean;
  /** The commit its code is fetched at (the deployment's pinned commit, or a re-run's original's). */
  source_commit?: string | null;
  rerun_of?: string | null;
}

export type FlowRunFields = Partial<
  Pick<
    FlowRunRecord,
    "infrastructure_id" | "job_configuration" | "start_time" | "end_time" | "compute_seconds" | "result" | "attempt" | "next_attempt_at" | "source_commit"
  >
>;

export interface FlowRunFilter {
  deployment_id?: string;
  work_pool?: string;
  states?: StateType[];
  /** Lower-case hex digits and dashes: runs whose id starts with them. */
  id_prefix?: string;
  name?: string;
  created_after?: string;
  created_before?: string;
}

export interface UnfinishedFlowRunFilter {
  pool_kind: "push" | "managed";
  limit: number;
  after_id?: string;
  /** Only runs this server may claim (see `claimFlowRun`): none of another live server's. */
  claimable_by?: string;
}

export interface QueuedFlowRunFilter {
  pool_kind: "push" | "managed";
  /** Only runs due by then: without an expected start (or next attempt), or expected at or before it. */
  due_at?: string;
  workspace_id?: string;
  work_pool_id?: string;
  limit: number;
}

export interface NewLogLine {
  level: LogLevel;
  message: string;
  timestamp: string;
  source: string;
}
