import { FerryError } from "@ferry/core";
import type { SqlDriver } from "./driver.js";

/**
 * The schema, as ordered migrations. A migration, once released, never changes: add a new one.
 * The same SQL runs on PostgreSQL 15+ and on PGlite, so use nothing newer than PostgreSQL 15.
 */
export interface Migration {
  id: number;
  name: string;
  sql: string;
}

const UNFINISHED_STATES = "('SCHEDULED', 'PENDING', 'RUNNING', 'CANCELLING')";

export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: "initial schema",
    sql: `
CREATE SEQUENCE ferry_event_seq AS bigint;

CREATE TABLE workspaces (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  tier text NOT NULL,
  limits_override jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  workspace_id uuid NOT NULL,
  name text NOT NULL,
  prefix text NOT NULL,
  hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  CONSTRAINT api_keys_hash_key UNIQUE (hash),
  CONSTRAINT api_keys_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE
);
CREATE INDEX api_keys_workspace_idx ON api_keys (workspace_id);

CREATE TABLE work_pools (
  id uuid PRIMARY KEY,
  workspace_id uuid NOT NULL,
  name text NOT NULL,
  type text NOT NULL,
  description text,
  base_job_template jsonb NOT NULL,
  concurrency_limit integer CHECK (concurrency_limit >= 0),
  paused boolean NOT NULL DEFAULT false,
  credentials text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT work_pools_workspace_name_key UNIQUE (workspace_id, name),
  -- Lets deployments refer to (workspace_id, id): a deployment cannot point at another workspace's pool.
  CONSTRAINT work_pools_workspace_id_key UNIQUE (workspace_id, id),
  CONSTRAINT work_pools_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE
);

CREATE TABLE credentials (
  id uuid PRIMARY KEY,
  workspace_id uuid NOT NULL,
  name text NOT NULL,
  type text NOT NULL,
  plain_data jsonb NOT NULL,
  secret_ciphertext text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT credentials_workspace_name_key UNIQUE (workspace_id, name),
  CONSTRAINT credentials_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE
);

CREATE TABLE deployments (
  id uuid PRIMARY KEY,
  workspace_id uuid NOT NULL,
  flow_name text NOT NULL,
  name text NOT NULL,
  work_pool_id uuid NOT NULL,
  source jsonb NOT NULL,
  entrypoint text NOT NULL,
  job_variables jsonb NOT NULL,
  parameters jsonb NOT NULL,
  parameter_schema jsonb,
  pull_steps jsonb,
  tags jsonb NOT NULL,
  description text,
  paused boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT deployments_workspace_flow_name_key UNIQUE (workspace_id, flow_name, name),
  CONSTRAINT deployments_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE,
  -- No cascade: deleting a pool that deployments use fails.
  CONSTRAINT deployments_work_pool_fkey FOREIGN KEY (workspace_id, work_pool_id) REFERENCES work_pools (workspace_id, id)
);
CREATE INDEX deployments_work_pool_idx ON deployments (work_pool_id);

-- deployment_id and work_pool_id are plain columns, not foreign keys: a run outlives its deployment and
-- pool, and keeps their names.
CREATE TABLE flow_runs (
  id uuid PRIMARY KEY,
  workspace_id uuid NOT NULL,
  name text NOT NULL,
  deployment_id uuid NOT NULL,
  deployment_name text NOT NULL,
  flow_name text NOT NULL,
  work_pool_id uuid NOT NULL,
  work_pool text NOT NULL,
  work_pool_type text NOT NULL,
  pool_kind text NOT NULL GENERATED ALWAYS AS (
    CASE WHEN work_pool_type LIKE '%:managed' THEN 'managed' WHEN work_pool_type LIKE '%:push' THEN 'push' ELSE 'other' END
  ) STORED,
  state_type text NOT NULL CHECK (state_type IN ('SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CRASHED', 'CANCELLING', 'CANCELLED')),
  state_name text NOT NULL,
  state_message text,
  state_timestamp timestamptz NOT NULL,
  parameters jsonb NOT NULL,
  job_variables jsonb NOT NULL,
  job_configuration jsonb,
  infrastructure_id text,
  idempotency_key text,
  tags jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  start_time timestamptz,
  end_time timestamptz,
  compute_seconds double precision NOT NULL DEFAULT 0,
  CONSTRAINT flow_runs_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX flow_runs_idempotency_key ON flow_runs (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX flow_runs_workspace_created_idx ON flow_runs (workspace_id, created_at DESC, id DESC);
CREATE INDEX flow_runs_deployment_created_idx ON flow_runs (deployment_id, created_at DESC, id DESC);
-- Small: only runs still moving. The first serves the dispatcher's scans across workspaces, the second a
-- workspace's count of active and queued managed runs (a quota check on every managed run).
CREATE INDEX flow_runs_unfinished_idx ON flow_runs (pool_kind, id) WHERE state_type IN ${UNFINISHED_STATES};
CREATE INDEX flow_runs_managed_active_idx ON flow_runs (workspace_id, state_type)
  WHERE pool_kind = 'managed' AND state_type IN ${UNFINISHED_STATES};
-- This month's managed compute, summed from the index alone.
CREATE INDEX flow_runs_managed_start_idx ON flow_runs (workspace_id, start_time) INCLUDE (compute_seconds) WHERE pool_kind = 'managed';

-- History entries and log lines draw ids from one sequence, so a run's events merge by id in the
-- order they happened and an SSE client resumes from the last id it saw.
CREATE TABLE flow_run_states (
  flow_run_id uuid NOT NULL,
  id bigint NOT NULL DEFAULT nextval('ferry_event_seq'),
  type text NOT NULL,
  name text NOT NULL,
  message text,
  timestamp timestamptz NOT NULL,
  PRIMARY KEY (flow_run_id, id),
  CONSTRAINT flow_run_states_flow_run_fkey FOREIGN KEY (flow_run_id) REFERENCES flow_runs (id) ON DELETE CASCADE
);

CREATE TABLE flow_run_logs (
  flow_run_id uuid NOT NULL,
  id bigint NOT NULL DEFAULT nextval('ferry_event_seq'),
  level text NOT NULL,
  message text NOT NULL,
  timestamp timestamptz NOT NULL,
  source text NOT NULL,
  PRIMARY KEY (flow_run_id, id),
  CONSTRAINT flow_run_logs_flow_run_fkey FOREIGN KEY (flow_run_id) REFERENCES flow_runs (id) ON DELETE CASCADE
);
`,
  },
  {
    id: 2,
    name: "active runs per pool",
    // A pool's concurrency limit counts its runs holding a slot on every claim.
    sql: `CREATE INDEX flow_runs_pool_active_idx ON flow_runs (work_pool_id) WHERE state_type IN ('PENDING', 'RUNNING', 'CANCELLING');`,
  },
  {
    id: 3,
    name: "flow run results",
    sql: `ALTER TABLE flow_runs ADD COLUMN result jsonb;`,
  },
  {
    id: 4,
    name: "queued runs per pool",
    // Admission reads a pool's waiting runs oldest first, under the workspace's lock, on every pass.
    sql: `CREATE INDEX flow_runs_pool_queued_idx ON flow_runs (work_pool_id, created_at, id) WHERE state_type = 'SCHEDULED';`,
  },
  {
    id: 5,
    name: "run bootstrap tokens",
    // What a run's infrastructure is given instead of its run token: single use, short-lived, hashed.
    sql: `
CREATE TABLE run_bootstrap_tokens (
  hash text PRIMARY KEY,
  flow_run_id uuid NOT NULL,
  workspace_id uuid NOT NULL,
  expires_at timestamptz NOT NULL,
  run_token_expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT run_bootstrap_tokens_flow_run_fkey FOREIGN KEY (flow_run_id) REFERENCES flow_runs (id) ON DELETE CASCADE
);
CREATE INDEX run_bootstrap_tokens_flow_run_idx ON run_bootstrap_tokens (flow_run_id);
`,
  },
  {
    id: 6,
    name: "server leases and run owners",
    // Each server process holds a lease it renews every sweep; a run records the server that drives it.
    // Another server takes a run over only once its owner's lease has expired (or was released), so a
    // run is followed by one server at a time and never recovered from under a live one.
    sql: `
CREATE TABLE ferry_servers (
  id uuid PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  lease_expires_at timestamptz NOT NULL
);
ALTER TABLE flow_runs ADD COLUMN owner_id uuid;
`,
  },
  {
    id: 7,
    name: "browser sessions and login links",
    // The web UI's sign-ins, stored by the hash of their token only. Each belongs to the API key that
    // made it: revoking the key ends its sessions and unused links (the cascade).
    sql: `
CREATE TABLE sessions (
  hash text PRIMARY KEY,
  workspace_id uuid NOT NULL,
  api_key_id uuid NOT NULL,
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  CONSTRAINT sessions_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE,
  CONSTRAINT sessions_api_key_fkey FOREIGN KEY (api_key_id) REFERENCES api_keys (id) ON DELETE CASCADE
);
CREATE INDEX sessions_api_key_idx ON sessions (api_key_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE login_links (
  hash text PRIMARY KEY,
  workspace_id uuid NOT NULL,
  api_key_id uuid NOT NULL,
  path text NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  CONSTRAINT login_links_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE,
  CONSTRAINT login_links_api_key_fkey FOREIGN KEY (api_key_id) REFERENCES api_keys (id) ON DELETE CASCADE
);
CREATE INDEX login_links_api_key_idx ON login_links (api_key_id);
CREATE INDEX login_links_expires_idx ON login_links (expires_at);
`,
  },
  {
    id: 8,
    name: "schema hashes",
    // Computed by the database when a pool or deployment is written, read with it: run creation finds
    // the compiled job-template and parameter schemas by these hashes instead of serialising the schemas
    // on every run. Not security hashes: each key is qualified by its row's id, so only one row's own
    // schemas could ever collide.
    sql: `
ALTER TABLE work_pools ADD COLUMN template_hash text NOT NULL GENERATED ALWAYS AS (md5(base_job_template::text)) STORED;
ALTER TABLE deployments ADD COLUMN parameter_schema_hash text GENERATED ALWAYS AS (md5(parameter_schema::text)) STORED;
`,
  },
  {
    id: 9,
    name: "runs by state, managed compute by month",
    // A workspace's runs of one state, newest first: the runs list filtered by state reads its page from
    // here instead of walking every newer run of the workspace to find the few of a rare state.
    // This month's managed compute (a quota check on every managed run and admission) counts a run from
    // coalesce(start_time, created_at): the index on start_time alone could not serve that range, so
    // with statistics the planner read every run of the workspace. This one serves it from the index.
    sql: `
CREATE INDEX flow_runs_workspace_state_created_idx ON flow_runs (workspace_id, state_type, created_at DESC, id DESC);
DROP INDEX flow_runs_managed_start_idx;
CREATE INDEX flow_runs_managed_month_idx ON flow_runs (workspace_id, (coalesce(start_time, created_at))) INCLUDE (compute_seconds)
  WHERE pool_kind = 'managed';
`,
  },
  {
    id: 10,
    name: "lists paged by cursor",
    // Each list reads its page in its order from an index, after the cursor's key: API keys by id
    // (time-ordered) within the workspace; a pool's deployments by flow name and name. Each replaces an
    // index on its leading column alone, which it serves as well. Work pools, credentials and a
    // workspace's deployments page on their unique (workspace_id, name...) constraints; workspaces on
    // their primary key.
    sql: `
CREATE INDEX api_keys_workspace_id_idx ON api_keys (workspace_id, id);
DROP INDEX api_keys_workspace_idx;
CREATE INDEX deployments_work_pool_flow_name_idx ON deployments (work_pool_id, flow_name, name);
DROP INDEX deployments_work_pool_idx;
`,
  },
  {
    id: 11,
    name: "schedules",
    // A deployment's schedules and the rules its runs are admitted by. schedules_checked_at is when the
    // scheduler last created its runs: the catch-up policy looks for times missed after it.
    // A scheduled run has its expected_start_time, and one run per deployment and time exists: the
    // unique index is what makes two servers' schedulers (or one that retries) create it once.
    // The other two indexes serve the scheduler's scan and the count of a deployment's active runs.
    sql: `
ALTER TABLE deployments
  ADD COLUMN schedules jsonb NOT NULL DEFAULT '[]'::jsonb,
  ADD COLUMN catchup_policy text NOT NULL DEFAULT 'skip' CHECK (catchup_policy IN ('skip', 'catch_up')),
  ADD COLUMN catchup_max_runs integer NOT NULL DEFAULT 1,
  ADD COLUMN concurrency_limit integer,
  ADD COLUMN collision_strategy text NOT NULL DEFAULT 'enqueue' CHECK (collision_strategy IN ('enqueue', 'cancel_new')),
  ADD COLUMN late_after_seconds integer NOT NULL DEFAULT 60,
  ADD COLUMN schedules_checked_at timestamptz;
CREATE INDEX deployments_scheduled_idx ON deployments (id) WHERE schedules <> '[]'::jsonb AND NOT paused;
ALTER TABLE flow_runs ADD COLUMN expected_start_time timestamptz;
CREATE UNIQUE INDEX flow_runs_deployment_expected_start_key ON flow_runs (deployment_id, expected_start_time) WHERE expected_start_time IS NOT NULL;
CREATE INDEX flow_runs_deployment_active_idx ON flow_runs (deployment_id) WHERE state_type IN ('PENDING', 'RUNNING', 'CANCELLING');
`,
  },
  {
    id: 12,
    name: "oidc trust policies and access tokens",
    // Which OIDC tokens (issuer, audience, claim conditions) sign in to a workspace and with which role,
    // and the short-lived access tokens exchanged for them, stored by hash only with the token's subject
    // for audit. Deleting a policy ends the access tokens it issued (the cascade).
    sql: `
CREATE TABLE oidc_trust_policies (
  id uuid PRIMARY KEY,
  workspace_id uuid NOT NULL,
  name text NOT NULL,
  issuer text NOT NULL,
  audience text NOT NULL,
  conditions jsonb NOT NULL,
  role text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT oidc_trust_policies_workspace_name_key UNIQUE (workspace_id, name),
  CONSTRAINT oidc_trust_policies_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE
);

CREATE TABLE access_tokens (
  hash text PRIMARY KEY,
  workspace_id uuid NOT NULL,
  policy_id uuid NOT NULL,
  role text NOT NULL,
  issuer text NOT NULL,
  subject text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  CONSTRAINT access_tokens_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE,
  CONSTRAINT access_tokens_policy_fkey FOREIGN KEY (policy_id) REFERENCES oidc_trust_policies (id) ON DELETE CASCADE
);
CREATE INDEX access_tokens_policy_idx ON access_tokens (policy_id);
CREATE INDEX access_tokens_expires_idx ON access_tokens (expires_at);
`,
  },
  {
    id: 13,
    name: "retries and re-runs",
    // A run's retry policy is fixed when it is made (from its deployment and its own override), so a
    // deployment changed later does not change how runs already made are retried. Defaults are constants:
    // adding these columns rewrites no row.
    sql: `
ALTER TABLE deployments
  ADD COLUMN retries integer NOT NULL DEFAULT 0,
  ADD COLUMN retry_delay_seconds integer NOT NULL DEFAULT 0,
  ADD COLUMN retry_on_crash boolean NOT NULL DEFAULT false;
ALTER TABLE flow_runs
  ADD COLUMN retries integer NOT NULL DEFAULT 0,
  ADD COLUMN retry_delay_seconds integer NOT NULL DEFAULT 0,
  ADD COLUMN retry_on_crash boolean NOT NULL DEFAULT false,
  ADD COLUMN attempt integer NOT NULL DEFAULT 1,
  ADD COLUMN next_attempt_at timestamptz,
  ADD COLUMN source_commit text,
  ADD COLUMN rerun_of uuid;
`,
  },
  {
    id: 14,
    name: "variables and secrets",
    // A secret's value is stored only as the server's ciphertext (bound to workspace and name, as
    // credentials are): the store never sees it in clear.
    sql: `
CREATE TABLE variables (
  workspace_id uuid NOT NULL,
  name text NOT NULL,
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, name),
  CONSTRAINT variables_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE
);
CREATE TABLE secrets (
  workspace_id uuid NOT NULL,
  name text NOT NULL,
  ciphertext text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, name),
  CONSTRAINT secrets_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE
);
`,
  },
  {
    id: 15,
    name: "any number of runs asked for one time",
    // Migration 11 allowed one run per deployment and expected start, which refused a second run asked for
    // the same time (`deployment run --start-at`, or a run asked for a time a schedule also has). One run per
    // schedule time is the scheduler's rule, and its runs' idempotency keys (core's scheduledRunKey, unique
    // per workspace) already hold it.
    sql: `
DROP INDEX flow_runs_deployment_expected_start_key;
`,
  },
];

/** Arbitrary, fixed: every Ferry process migrating one database takes this advisory lock. */
const MIGRATION_LOCK_KEY = 8_462_117_306_512_337;

/**
 * Applies pending migrations, each in its own transaction that first takes a transaction-scoped
 * advisory lock and then re-reads what is applied. Processes that start together therefore apply each
 * migration once: the others wait on the lock, then find it recorded. A transaction-scoped lock (rather
 * than `pg_advisory_lock` on a session) needs no dedicated connection and cannot leak if a process
 * dies. Running it again when nothing is pending changes nothing.
 */
export async function migrate(driver: SqlDriver, migrations: readonly Migration[] = MIGRATIONS): Promise<{ applied: number[] }> {
  assertOrdered(migrations);
  const applied: number[] = [];
  const done = await appliedMigrations(driver);
  checkKnown(done, migrations);
  for (const migration of migrations) {
    if (done.has(migration.id)) continue;
    const ran = await driver.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      await tx.exec(
        "CREATE TABLE IF NOT EXISTS ferry_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
      );
      const { rows } = await tx.query<{ id: number }>("SELECT id FROM ferry_migrations WHERE id = $1", [migration.id]);
      if (rows.length > 0) return false;
      await tx.exec(migration.sql);
      await tx.query("INSERT INTO ferry_migrations (id, name) VALUES ($1, $2)", [migration.id, migration.name]);
      return true;
    });
    if (ran) applied.push(migration.id);
  }
  return { applied };
}

async function appliedMigrations(driver: SqlDriver): Promise<Map<number, string>> {
  const { rows: exists } = await driver.query<{ present: boolean }>("SELECT to_regclass('ferry_migrations') IS NOT NULL AS present");
  if (!exists[0]?.present) return new Map();
  const { rows } = await driver.query<{ id: number; name: string }>("SELECT id, name FROM ferry_migrations ORDER BY id");
  return new Map(rows.map((r) => [r.id, r.name]));
}

function checkKnown(done: Map<number, string>, migrations: readonly Migration[]): void {
  const known = new Map(migrations.map((m) => [m.id, m.name]));
  for (const [id, name] of done) {
    if (!known.has(id)) {
      throw new FerryError(
        "unavailable",
        `the database has migration ${id} (${name}), which this Ferry server does not know: it was upgraded by a newer version; upgrade this server too`,
        { retryable: false },
      );
    }
  }
}

function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.id !== i + 1) throw new Error(`migration ${m.name} has id ${m.id}; ids must be 1, 2, 3… in order`);
  });
}
